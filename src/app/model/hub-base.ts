/**
 * Where the page downloads hub models from: huggingface.co, unless a test has set
 * `globalThis.TOKENSCOPE_HUB_BASE` before the page's scripts run (a local server that mimics the
 * hub's URLs). Never read from the link: a shared URL cannot point the page at another server.
 */
import { HUB_BASE_URL } from '../../io/catalog';

export function hubBase(): string {
  const override = (globalThis as { TOKENSCOPE_HUB_BASE?: unknown }).TOKENSCOPE_HUB_BASE;
  return typeof override === 'string' && /^https?:\/\//.test(override) ? override : HUB_BASE_URL;
}
