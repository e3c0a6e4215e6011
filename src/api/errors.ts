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
  Timeout: 504,
  System: 500,
};

export function statusOf(err: unknown): number {
  if (err instanceof BerthError) return STATUS[err.category];
  if (isNulByteArgument(err)) return 400;
  return 500;
}

/**
 * Node refuses a string holding a NUL byte as a path or an argv entry (ERR_INVALID_ARG_VALUE,
 * "… must be a string without null bytes"). Only a client's bytes can put one there, so a check
 * missed upstream still answers as the client error it is, not a 500.
 */
function isNulByteArgument(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return e?.code === 'ERR_INVALID_ARG_VALUE' && typeof e.message === 'string' && e.message.includes('without null bytes');
}

export function messageOfError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The same categories as gRPC status codes (BuildKit's API on `/grpc`: google.rpc.Code). */
const GRPC_CODE: Record<ErrorCategory, number> = {
  NotFound: 5,
  Conflict: 6,
  InvalidParameter: 3,
  Unauthorized: 16,
  Forbidden: 7,
  Unavailable: 14,
  NotModified: 9,
  NotImplemented: 12,
  Timeout: 4,
  System: 13,
};

export function grpcStatusOf(err: unknown): { code: number; message: string } {
  if (err instanceof BerthError) return { code: GRPC_CODE[err.category], message: err.message };
  if (isNulByteArgument(err)) return { code: 3, message: messageOfError(err) };
  if (err instanceof Error) console.error('berthd: grpc:', err);
  return { code: 2, message: messageOfError(err) };
}
