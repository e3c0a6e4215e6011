/** The small response helpers every berth-web handler answers with. */
import type http from 'node:http';
import { ApiError, ConnectionError } from '../client/errors.js';
import { messageOf } from '../lib/errors.js';

/** Headers on every answer: no caching of API data, no sniffing, no framing, no referrer. */
export const COMMON_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** `{"message": …}` with a status, as the Engine API words its errors. */
export function sendError(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { message });
}

/** An error from the daemon keeps its status and text; an unreachable daemon is a 502. */
export function sendDaemonError(res: http.ServerResponse, err: unknown): void {
  if (err instanceof ApiError) sendError(res, err.statusCode, err.message);
  else if (err instanceof ConnectionError) sendError(res, 502, err.message);
  else sendError(res, 502, `berth-web: ${messageOf(err)}`);
}
