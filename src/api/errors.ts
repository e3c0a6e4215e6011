/** The one place where error categories become HTTP status codes. */
import { BerthError, type ErrorCategory } from '../lib/errors.js';

const STATUS: Record<ErrorCategory, number> = {
  NotFound: 404,
  Conflict: 409,
  InvalidParameter: 400,
  Unauthorized: 401,
  Forbidden: 403,
  Unavailable: 503,
  NotModified: 304,
  NotImplemented: 501,
  System: 500,
};

export function statusOf(err: unknown): number {
  if (err instanceof BerthError) return STATUS[err.category];
  return 500;
}

export function messageOfError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
