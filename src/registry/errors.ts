/**
 * The distribution spec's error codes and the one place that maps errors to HTTP responses.
 * Registry code throws RegistryError with a spec code; anything else (a BerthError category
 * from src/lib/errors.ts, or an unexpected failure) is mapped here too.
 */
import type { ServerResponse } from 'node:http';
import { BerthError, messageOf } from '../lib/errors.js';

export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'UNKNOWN';

/** Default HTTP status and message for each code (the messages are distribution's). */
const CODES: Record<ErrorCode, { status: number; message: string }> = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'The operation is unsupported.' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  UNKNOWN: { status: 500, message: 'unknown error' },
};

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers (e.g. WWW-Authenticate on 401). */
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, o: { message?: string; detail?: unknown; status?: number; headers?: Record<string, string> } = {}) {
    const def = CODES[code];
    super(o.message ?? def.message);
    this.code = code;
    this.status = o.status ?? def.status;
    this.detail = o.detail;
    this.headers = o.headers ?? {};
    this.name = 'RegistryError';
  }
}

export const regErr = (code: ErrorCode, message?: string, detail?: unknown, status?: number): RegistryError =>
  new RegistryError(code, { ...(message !== undefined ? { message } : {}), detail, ...(status !== undefined ? { status } : {}) });

/** Maps any thrown value to a RegistryError. */
export function toRegistryError(err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  if (err instanceof BerthError) {
    switch (err.category) {
      case 'NotFound':
        return new RegistryError('NAME_UNKNOWN', { message: err.message });
      case 'InvalidParameter':
        return new RegistryError('UNSUPPORTED', { message: err.message, status: 400 });
      case 'Forbidden':
        return new RegistryError('DENIED', { message: err.message });
      case 'Conflict':
        return new RegistryError('UNSUPPORTED', { message: err.message, status: 409 });
      case 'Unavailable':
        return new RegistryError('UNKNOWN', { message: err.message, status: 503 });
      case 'NotImplemented':
        return new RegistryError('UNSUPPORTED', { message: err.message });
      default:
        return new RegistryError('UNKNOWN', { message: err.message });
    }
  }
  return new RegistryError('UNKNOWN', { message: messageOf(err) });
}

/** Writes the spec's JSON error body. HEAD responses carry the status and headers only. */
export function sendError(res: ServerResponse, err: unknown, head = false): RegistryError {
  const e = toRegistryError(err);
  if (res.headersSent) {
    res.destroy();
    return e;
  }
  const body = JSON.stringify({
    errors: [{ code: e.code === 'RANGE_INVALID' ? 'BLOB_UPLOAD_INVALID' : e.code, message: e.message, detail: e.detail ?? null }],
  });
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.statusCode = e.status;
  res.end(head ? undefined : body);
  return e;
}
