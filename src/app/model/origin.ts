/** Where the model in use came from, in words, for the model line of both pages. */
import { formatHubId } from '../../io/catalog';
import type { ModelOrigin } from '../worker/protocol';

export function describeOrigin(origin: ModelOrigin): string {
  switch (origin.kind) {
    case 'bundled':
      return 'bundled with TokenScope';
    case 'hub':
      return `Hugging Face hub, ${formatHubId(origin)}${origin.fromCache ? ' (offline copy in this browser)' : ''}`;
    case 'files':
      return `your files (${origin.names.join(', ')})`;
    case 'random':
      return 'seeded random weights';
  }
}
