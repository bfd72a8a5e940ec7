/** Downloads: the layer strip as PNG, the per-block per-patch fates as JSON, tokens and FLOPs as CSV. */
interface Props {
  onPng(): void;
  onJson(): void;
  onCsv(): void;
}

export function ExportPanel({ onPng, onJson, onCsv }: Props) {
  return (
    <section className="panel export" aria-labelledby="export-title">
      <h2 id="export-title">Export this run</h2>
      <div className="export-buttons">
        <button type="button" data-testid="export-png" onClick={onPng}>
          Layer strip (PNG)
        </button>
        <button type="button" data-testid="export-json" onClick={onJson}>
          Fates per block and patch (JSON)
        </button>
        <button type="button" data-testid="export-csv" onClick={onCsv}>
          Tokens and FLOPs per block (CSV)
        </button>
      </div>
      <p className="muted">The JSON holds the model input's 8-bit pixels too, so anyone can rerun the same plan on the same input.</p>
    </section>
  );
}

/** Saves `data` as a file through a temporary link. */
export function download(name: string, data: Blob): void {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
