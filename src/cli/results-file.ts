/**
 * Reads a results file line by line in chunks, so a file larger than the longest string V8 can
 * hold (about 512 MB: a long sweep of ImageNet-val in one process comes near) still reads.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { TokenScopeError } from '../errors';
import { parseResultLines, type ParsedResults } from '../measure/results';

/** The pieces of the file split at '\n' (the last one is what follows the last newline). */
function* lines(path: string, chunkBytes = 8 << 20): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new TokenScopeError('data-missing', `${path} cannot be read`, { path });
  }
  try {
    const buffer = Buffer.alloc(chunkBytes);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const n = readSync(fd, buffer, 0, chunkBytes, null);
      if (n === 0) break;
      const parts = (rest + decoder.write(buffer.subarray(0, n))).split('\n');
      rest = parts.pop()!;
      yield* parts;
    }
    yield rest + decoder.end();
  } finally {
    closeSync(fd);
  }
}

export function readResultsFile(path: string, chunkBytes?: number): ParsedResults {
  return parseResultLines(lines(path, chunkBytes), path);
}
