import { TokenScopeError } from '../../errors';

/** The bytes at `url`; an HTTP error is 'data-missing'. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new TokenScopeError('data-missing', `could not load ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
