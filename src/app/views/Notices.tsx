/** Notices in plain words (ignored link values, untrained weights, fallbacks), each dismissable. */
interface Props {
  notices: { id: string; text: string; tone: 'info' | 'warning' }[];
  onDismiss(id: string): void;
}

export function Notices({ notices, onDismiss }: Props) {
  if (notices.length === 0) return null;
  return (
    <ul className="notices" aria-live="polite" data-testid="notices">
      {notices.map((n) => (
        <li key={n.id} className={`notice ${n.tone}`} data-testid={`notice-${n.id}`}>
          <span>{n.text}</span>
          <button type="button" onClick={() => onDismiss(n.id)} aria-label="Dismiss this notice">
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
