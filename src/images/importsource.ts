/**
 * Where `docker import`'s tar comes from: the request body (`fromSrc=-`) or a URL the daemon
 * fetches (`fromSrc=<url>`, `http://` assumed without a scheme), as dockerd's ImportImage does.
 */
import { Readable } from 'node:stream';
import { invalid, messageOf } from '../lib/errors.js';

/** The tar stream for `fromSrc`; `body` when it is `-`. Bad URLs and failed fetches are InvalidParameter. */
export async function openImportSource(fromSrc: string, body: Readable): Promise<Readable> {
  if (fromSrc === '-') return body;
  let url: URL;
  try {
    url = new URL(fromSrc.includes('://') ? fromSrc : `http://${fromSrc}`);
  } catch {
    throw invalid(`invalid source URL: ${fromSrc}`);
  }
  const resp = await fetch(url).catch((err: unknown) => {
    throw invalid(`cannot fetch ${fromSrc}: ${messageOf(err)}`);
  });
  if (!resp.ok || !resp.body) throw invalid(`cannot fetch ${fromSrc}: ${resp.status}`);
  return Readable.fromWeb(resp.body as import('node:stream/web').ReadableStream);
}
