/** Every error TokenScope raises on purpose carries a `code`: branch on it, never on message text. */
export type ErrorCode =
  | 'image-unreadable'
  | 'image-too-large'
  | 'safetensors-malformed'
  | 'shape-mismatch'
  | 'param-out-of-range'
  | 'plan-invalid'
  | 'url-state-invalid'
  | 'backend-unavailable'
  | 'data-missing'
  | 'data-malformed'
  | 'download-failed'
  /** A model that does not fit this device's memory, or is larger than TokenScope runs. */
  | 'model-too-large'
  | 'cancelled'
  | 'internal';

export class TokenScopeError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'TokenScopeError';
    this.code = code;
    this.details = details;
  }
}

/** The result of parsing anything that comes from outside (URL, argv, files). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: TokenScopeError };

export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new TokenScopeError(code, message, details);
}

/** Engine invariants: a broken one is our bug, not the user's. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new TokenScopeError('internal', message);
}
