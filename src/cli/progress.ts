/**
 * A one-line progress bar on stderr: `label [#####.....] done/total  <fields>  ETA 3m10s`.
 * On a terminal it redraws in place (at most every `intervalMs`); when stderr is a file (a
 * background run logging to disk) it prints a plain line every `logEvery` items instead.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Items already done before this bar started (a resumed epoch): excluded from the rate. */
  start?: number;
  intervalMs?: number;
  logEvery?: number;
  stream?: NodeJS.WriteStream;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class ProgressBar {
  private readonly started = performance.now();
  private lastDraw = 0;
  private lastLogged: number;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.lastLogged = o.start ?? 0;
  }

  /** Seconds left at the current rate, for `done` of `total`. */
  eta(done: number): number {
    const start = this.o.start ?? 0;
    const elapsed = (performance.now() - this.started) / 1000;
    return done > start ? (elapsed / (done - start)) * (this.o.total - done) : NaN;
  }

  update(done: number, fields = ''): void {
    const now = performance.now();
    const line = this.render(done, fields);
    if (this.tty) {
      if (now - this.lastDraw < (this.o.intervalMs ?? 200) && done < this.o.total) return;
      this.lastDraw = now;
      this.stream.write(`\r${line}\x1b[K`);
    } else if (done - this.lastLogged >= (this.o.logEvery ?? 50) || done === this.o.total) {
      this.lastLogged = done;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends the bar's line (terminal) so the next output starts clean. */
  done(summary?: string): void {
    if (this.tty) this.stream.write(`\r\x1b[K`);
    if (summary) this.stream.write(`${summary}\n`);
  }

  private render(done: number, fields: string): string {
    const width = 24;
    const filled = Math.round((width * done) / Math.max(1, this.o.total));
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    return `${this.o.label} [${bar}] ${done}/${this.o.total}${fields ? `  ${fields}` : ''}  ETA ${formatDuration(this.eta(done))}`;
  }
}
