/**
 * Typed error categories, as Docker's errdefs has them. Engine code throws these;
 * the API layer maps a category to an HTTP status in one place (api/errors.ts).
 */
export type ErrorCategory =
  'NotFound' | 'Conflict' | 'InvalidParameter' | 'Unauthorized' | 'Forbidden' | 'Unavailable' | 'NotModified' | 'NotImplemented' | 'Timeout' | 'System';

export class BerthError extends Error {
  readonly category: ErrorCategory;
  constructor(category: ErrorCategory, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.category = category;
    this.name = `${category}Error`;
  }
}

export const notFound = (msg: string): BerthError => new BerthError('NotFound', msg);
export const conflict = (msg: string): BerthError => new BerthError('Conflict', msg);
export const invalid = (msg: string): BerthError => new BerthError('InvalidParameter', msg);
export const unauthorized = (msg: string): BerthError => new BerthError('Unauthorized', msg);
export const forbidden = (msg: string): BerthError => new BerthError('Forbidden', msg);
export const unavailable = (msg: string): BerthError => new BerthError('Unavailable', msg);
export const notModified = (msg = ''): BerthError => new BerthError('NotModified', msg);
export const notImplemented = (msg: string): BerthError => new BerthError('NotImplemented', msg);
/** a deadline passed (dockerd's errdefs.Deadline) */
export const timeout = (msg: string): BerthError => new BerthError('Timeout', msg);
export const system = (msg: string, cause?: unknown): BerthError => new BerthError('System', msg, { cause });

export function isCategory(err: unknown, category: ErrorCategory): boolean {
  return err instanceof BerthError && err.category === category;
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
