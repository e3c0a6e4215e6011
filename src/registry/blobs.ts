/** Blob endpoints: GET/HEAD (with Range), DELETE, and the upload session endpoints. */
import { checkDeletable, checkWritable, intHeader, type Ctx, type Deps } from './context.js';
import { regErr } from './errors.js';
import type { Route } from './routes.js';
import { checkDigest, checkName, digestAlg } from './storage.js';
import type { Session } from './uploads.js';
import { sendBlobBody, useSendfile } from './blobout.js';

type BlobRoute = Extract<Route, { kind: 'blob' }>;
type UploadsRoute = Extract<Route, { kind: 'uploads' }>;
type UploadRoute = Extract<Route, { kind: 'upload' }>;

const enc = (name: string): string => name; // names are [a-z0-9._/-]: nothing to escape

/** Parses a single `bytes=` range against `size`: undefined = whole blob, null = unsatisfiable. */
export function parseRange(h: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

export async function serveBlob(d: Deps, ctx: Ctx<BlobRoute>): Promise<void> {
  const { route } = ctx;
  const digest = checkDigest(route.digest);
  const size = await d.storage.repoBlobSize(route.name, digest);
  if (size === undefined) {
    if (d.proxy) return d.proxy.serveBlob(ctx, digest);
    throw regErr('BLOB_UNKNOWN', undefined, { digest });
  }
  sendBlob(d, ctx, digest, size);
  if (!ctx.head) {
    const range = parseRange(ctx.req.headers.range, size);
    if (range === null) return;
    await streamOut(d, ctx, range, size);
  }
}

/** Writes the headers of a blob response; 416 for an unsatisfiable range. */
function sendBlob(d: Deps, ctx: Ctx<BlobRoute>, digest: string, size: number): void {
  const { res } = ctx;
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('ETag', `"${digest}"`);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'max-age=31536000');
  res.setHeader('Content-Type', 'application/octet-stream');
  const range = ctx.head ? undefined : parseRange(ctx.req.headers.range, size);
  if (range === null) {
    res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  if (range) {
    res.writeHead(206, { 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': range.end - range.start + 1 });
  } else {
    res.writeHead(200, { 'Content-Length': size });
  }
  if (ctx.head) res.end();
  void d;
}

async function streamOut(d: Deps, ctx: Ctx<BlobRoute>, range: { start: number; end: number } | undefined, size: number): Promise<void> {
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : size;
  await sendBlobBody(ctx.res, d.storage.blobPath(ctx.route.digest), start, length, {
    sendfile: useSendfile(ctx.res, d.config.sendfile),
    onBytes: (n) => (d.metrics.bytesOut += n),
  });
}

export async function deleteBlob(d: Deps, ctx: Ctx<BlobRoute>): Promise<void> {
  checkDeletable(d);
  const digest = checkDigest(ctx.route.digest);
  if (!(await d.storage.unlinkBlob(ctx.route.name, digest))) throw regErr('BLOB_UNKNOWN', undefined, { digest });
  ctx.res.writeHead(202, { 'Content-Length': 0 });
  ctx.res.end();
}

function uploadHeaders(ctx: Ctx, s: Session): Record<string, string | number> {
  return {
    Location: `/v2/${enc(s.name)}/blobs/uploads/${s.id}`,
    Range: `0-${Math.max(0, s.size - 1)}`,
    'Docker-Upload-UUID': s.id,
    'Content-Length': 0,
  };
}

function created(ctx: Ctx, name: string, digest: string): void {
  ctx.res.writeHead(201, { Location: `/v2/${enc(name)}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 });
  ctx.res.end();
}

/** Whether the request carries a body. */
const hasBody = (ctx: Ctx): boolean => Number(ctx.req.headers['content-length'] ?? '0') > 0 || ctx.req.headers['transfer-encoding'] !== undefined;

const badRange = (): Error => regErr('RANGE_INVALID', 'invalid Content-Range');
const badLength = (): Error => regErr('SIZE_INVALID', 'invalid Content-Length');

function contentRange(ctx: Ctx): { start?: number; end?: number } {
  const h = ctx.req.headers['content-range'];
  if (h === undefined) return {};
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(h.trim());
  if (!m) throw badRange();
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw badRange();
  return { start, end };
}

/** POST /v2/<name>/blobs/uploads/: start a session, a single-POST upload, or a cross-repo mount. */
export async function startUpload(d: Deps, ctx: Ctx<UploadsRoute>): Promise<void> {
  checkWritable(d);
  const { url, route } = ctx;
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null) {
    const digest = checkDigest(mount);
    if (from && from !== route.name && d.auth.holds(ctx.id, { type: 'repository', name: from, actions: ['pull'] })) {
      try {
        checkName(from);
        if ((await d.storage.isBlobLinked(from, digest)) && (await d.storage.blobSize(digest)) !== undefined) {
          await d.storage.linkBlob(route.name, digest);
          return created(ctx, route.name, digest);
        }
      } catch {
        /* fall back to an upload session */
      }
    } else if (from === route.name && (await d.storage.repoBlobSize(route.name, digest)) !== undefined) {
      return created(ctx, route.name, digest);
    }
  }
  const digestParam = url.searchParams.get('digest');
  const algParam = url.searchParams.get('digest-algorithm');
  if (algParam !== null && algParam !== 'sha256' && algParam !== 'sha512') throw regErr('DIGEST_INVALID', `unsupported digest algorithm ${algParam}`);
  if (digestParam !== null) {
    const digest = checkDigest(digestParam);
    const length = intHeader(ctx.req.headers['content-length'], badLength);
    const s = await d.uploads.create(route.name, digestAlg(digest));
    try {
      await d.uploads.finish(s, digest, { body: ctx.req, ...(length !== undefined ? { length } : {}) });
    } catch (err) {
      await d.uploads.cancel(s).catch(() => undefined);
      throw err;
    }
    d.metrics.blobsCommitted++;
    return created(ctx, route.name, digest);
  }
  const s = await d.uploads.create(route.name, algParam === 'sha512' ? 'sha512' : 'sha256');
  if (hasBody(ctx)) {
    const length = intHeader(ctx.req.headers['content-length'], badLength);
    await d.uploads.append(s, ctx.req, length !== undefined ? { length } : {});
  }
  ctx.res.writeHead(202, uploadHeaders(ctx, s));
  ctx.res.end();
}

/** PATCH, PUT, GET and DELETE on an upload session. */
export async function upload(d: Deps, ctx: Ctx<UploadRoute>): Promise<void> {
  const { req, res, route } = ctx;
  const s = await d.uploads.get(route.name, route.id);
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      res.writeHead(204, uploadHeaders(ctx, s));
      res.end();
      return;
    case 'DELETE':
      await d.uploads.cancel(s);
      res.writeHead(204, { 'Content-Length': 0 });
      res.end();
      return;
    case 'PATCH': {
      checkWritable(d);
      const range = contentRange(ctx);
      const length = intHeader(req.headers['content-length'], badLength);
      await d.uploads.append(s, req, { ...range, ...(length !== undefined ? { length } : {}) }).catch((err: unknown) => {
        if (err instanceof Error && 'code' in err && err.code === 'RANGE_INVALID') {
          throw regErr('RANGE_INVALID', err.message, { size: s.size }, 416);
        }
        throw err;
      });
      res.writeHead(202, uploadHeaders(ctx, s));
      res.end();
      return;
    }
    case 'PUT': {
      checkWritable(d);
      const dp = ctx.url.searchParams.get('digest');
      if (dp === null) {
        req.resume();
        throw regErr('DIGEST_INVALID', 'digest parameter missing');
      }
      const digest = checkDigest(dp);
      let last: Parameters<typeof d.uploads.finish>[2];
      if (hasBody(ctx)) {
        const length = intHeader(req.headers['content-length'], badLength);
        last = { body: req, ...contentRange(ctx), ...(length !== undefined ? { length } : {}) };
      }
      await d.uploads.finish(s, digest, last);
      d.metrics.blobsCommitted++;
      created(ctx, route.name, digest);
      return;
    }
    default:
      throw regErr('UNSUPPORTED', `method ${req.method} not allowed`);
  }
}
