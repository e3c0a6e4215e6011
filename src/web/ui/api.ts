/**
 * The page's side of berth-web's API: the session's CSRF value, JSON calls under /api/engine/
 * (the allow-listed Engine API), the SSE streams under /api/stream/, and pull's JSON-lines body.
 */
let csrf = '';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the session (its CSRF value); false when the page has no session (no token yet). */
export async function startSession(): Promise<boolean> {
  const r = await fetch('/api/session', { credentials: 'same-origin' });
  if (r.status === 401) return false;
  if (!r.ok) throw new HttpError(r.status, await r.text());
  csrf = ((await r.json()) as { csrf?: string }).csrf ?? '';
  return true;
}

async function call(method: string, path: string): Promise<Response> {
  const r = await fetch(`/api/engine${path}`, {
    method,
    credentials: 'same-origin',
    headers: method === 'GET' ? {} : { 'X-CSRF-Token': csrf },
  });
  if (!r.ok) {
    const text = await r.text();
    let msg = text;
    try {
      msg = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      /* plain text */
    }
    throw new HttpError(r.status, msg);
  }
  return r;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await call('GET', path)).json()) as T;
}

export async function post(path: string): Promise<void> {
  await call('POST', path);
}

export async function del(path: string): Promise<void> {
  await call('DELETE', path);
}

/** POSTs and hands each JSON line of the streamed answer to `onLine` (pull progress). */
export async function postLines(path: string, onLine: (v: unknown) => void): Promise<void> {
  const r = await call('POST', path);
  if (!r.body) return;
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) onLine(JSON.parse(l));
  }
  if (buf.trim()) onLine(JSON.parse(buf));
}

export interface StreamHandle {
  close(): void;
}

/**
 * Follows an SSE stream. `onEnd` runs when the server ends it (the `end` event) — then it is not
 * reopened; a dropped connection is reopened by EventSource itself (`onState` tells).
 */
export function stream(
  path: string,
  onData: (v: unknown) => void,
  o: { onEnd?: () => void; onError?: (msg: string) => void; onState?: (open: boolean) => void } = {},
): StreamHandle {
  const es = new EventSource(`/api/stream/${path}`);
  es.onmessage = (ev: MessageEvent<string>) => onData(JSON.parse(ev.data));
  es.onopen = () => o.onState?.(true);
  es.onerror = () => o.onState?.(false);
  es.addEventListener('error', (ev) => {
    const data = (ev as MessageEvent<string>).data;
    if (typeof data === 'string') o.onError?.((JSON.parse(data) as { message: string }).message);
  });
  es.addEventListener('end', () => {
    es.close();
    o.onEnd?.();
  });
  return { close: () => es.close() };
}
