/**
 * A bounded fuzz of the Engine API over every route the router registers: wrong JSON kinds for
 * every field of every schema'd body (generated from src/api/schema/engine-api.json), malformed,
 * cut, huge and badly encoded bodies, traversal and junk in names, IDs and queries, clients that
 * vanish mid-request and mid-hijack. Asserts no 5xx for any of it, /_ping answering throughout,
 * the daemon's RSS back near its start, and nothing left behind beyond the fixtures made here.
 * Seeded: FUZZ_SEED=<n> replays a run (the seed is printed in every failure).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { REPO, TestDaemon, cgroupDirs, cleanupAndCheck, mountsUnder, sleep, waitFor } from './helpers/daemon.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const tag = `seed=${SEED} (FUZZ_SEED=${SEED} replays this run)`;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const chance = (p: number): boolean => rand() < p;

let d: TestDaemon;
const T = { timeout: 300_000 };

/* ------------------------------------------------------------------ raw HTTP */

interface Raw {
  status: number;
  text: string;
  headers: Record<string, string>;
}

/**
 * Sends bytes on a fresh connection and reads one response (head and up to 64 KiB of body);
 * resolves with status 0 when the daemon closes without answering, -1 at the client's timeout.
 */
function rawRequest(bytes: Buffer | string, o: { timeout?: number; vanishAfterMs?: number } = {}): Promise<Raw> {
  return new Promise((resolve) => {
    const sock = net.connect(d.socket);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const all = Buffer.concat(chunks).toString('latin1');
      const headEnd = all.indexOf('\r\n\r\n');
      const head = headEnd >= 0 ? all.slice(0, headEnd) : all;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: m ? Number(m[1]) : status, text: headEnd >= 0 ? all.slice(headEnd + 4) : '', headers });
    };
    const timer = setTimeout(() => finish(-1), o.vanishAfterMs ?? o.timeout ?? 15_000);
    sock.on('error', () => finish(0));
    sock.on('close', () => finish(0));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks).toString('latin1');
      const headEnd = all.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const len = /\r\ncontent-length: *(\d+)/i.exec(all.slice(0, headEnd));
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(all)?.[1] ?? 0);
      // streamed answers (logs, events, hijacks) are judged by their head
      if (o.vanishAfterMs === undefined && (status === 101 || !len || all.length - headEnd - 4 >= Number(len[1]) || all.length > 65536)) finish(status);
    });
    sock.write(bytes);
  });
}

const request = (method: string, target: string, body?: Buffer | string, extra = ''): Buffer => {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `${method} ${target} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n${extra}\r\n`,
      'latin1',
    ),
    b,
  ]);
};

let sent = 0;
const statuses = new Map<number, number>();
/** Requests that changed something (201, 204): shown at the end, to see what the fuzz did. */
const succeeded: string[] = [];
const fivexx: string[] = [];
/** Sends one request and records any 5xx (the daemon's answer to a client error must never be one). */
async function send(what: string, bytes: Buffer | string, o: { timeout?: number; vanishAfterMs?: number } = {}): Promise<Raw> {
  sent++;
  const r = await rawRequest(bytes, o);
  statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  if (r.status === 204 || r.status === 201) succeeded.push(what);
  // 501 is a feature berthd does not have (BuildKit sessions, plugins, Swarm mode) and 503 is
  // dockerd's answer outside a swarm: neither is a failure
  const swarm = /^(\S+ )?(\/v[\d.]+)?\/(swarm|nodes|services|tasks|secrets|configs)\b/.test(what);
  if (r.status >= 500 && r.status !== 501 && !(r.status === 503 && swarm)) fivexx.push(`${what} → ${r.status} ${r.text.slice(0, 300)}`);
  if (sent % 100 === 0) await assertPing(`after ${sent} requests (last: ${what})`);
  return r;
}

async function assertPing(when: string): Promise<void> {
  const r = await rawRequest(request('GET', '/_ping'), { timeout: 10_000 });
  assert.equal(r.status, 200, `/_ping ${when}: ${r.status} ${tag}`);
}

/* ------------------------------------------------------------------ the daemon's own tables */

interface SchemaNode {
  type?: string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  'x-route'?: string;
}

function loadSchemas(): Record<string, SchemaNode> {
  const file = path.join(REPO, 'src/api/schema/engine-api.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { bodies: Record<string, SchemaNode> }).bodies;
}

/** Every route the API modules register (read from their compiled sources, so none is missed). */
function registeredRoutes(): Array<{ method: string; pattern: string }> {
  const dir = path.join(REPO, 'dist/src/api');
  const out: Array<{ method: string; pattern: string }> = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.js') && !x.endsWith('.test.js'))) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/\br\.add\('([A-Z]+)', '([^']+)'/g)) out.push({ method: m[1] as string, pattern: m[2] as string });
  }
  return out;
}

/** Each field path of a schema with the JSON kinds its node accepts. */
function fieldPaths(node: SchemaNode, prefix: Array<string | number> = [], out: Array<{ path: Array<string | number>; node: SchemaNode }> = []): typeof out {
  if (prefix.length > 0) out.push({ path: prefix, node });
  if (prefix.length > 6) return out;
  if (node.properties) for (const [k, v] of Object.entries(node.properties)) fieldPaths(v, [...prefix, k], out);
  if (node.additionalProperties) fieldPaths(node.additionalProperties, [...prefix, 'k'], out);
  if (node.items) fieldPaths(node.items, [...prefix, 0], out);
  return out;
}

/** A value of a JSON kind the node does not take (or out of its integer range). */
function wrongValue(node: SchemaNode): unknown {
  const t = node.type ?? [];
  if (t.length === 0) return undefined; // anything goes
  const candidates: unknown[] = [];
  if (!t.includes('string')) candidates.push('x', '', '../../etc/passwd', '\u0000');
  if (!t.includes('boolean')) candidates.push(true, false);
  if (!t.includes('integer') && !t.includes('number')) candidates.push(7, -1, 1.5, 1e300);
  if (t.includes('integer')) candidates.push(1.5, 2 ** 64 * 4, -(2 ** 64) * 4);
  if (!t.includes('array')) candidates.push([], [1, 'a']);
  if (!t.includes('object')) candidates.push({}, { a: 1 });
  return candidates.length > 0 ? pick(candidates) : undefined;
}

function setAt(root: Record<string, unknown>, p: Array<string | number>, value: unknown): void {
  let cur: Record<string | number, unknown> = root;
  for (let i = 0; i < p.length - 1; i++) {
    const k = p[i] as string | number;
    const nextIsIndex = typeof p[i + 1] === 'number';
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = nextIsIndex ? [] : {};
    cur = cur[k] as Record<string | number, unknown>;
  }
  cur[p[p.length - 1] as string | number] = value;
}

/* ------------------------------------------------------------------ fixtures */

let runId = '';
let stoppedId = '';
let execId = '';
const VOL = `fz-vol-${process.pid}`;

interface Snapshot {
  containers: string[];
  volumes: string[];
  networks: string[];
  images: string[];
  mounts: string[];
  cgroups: string[];
}

async function snapshot(): Promise<Snapshot> {
  const j = async (p: string): Promise<any> => (await d.api.get(p)).json();
  const cg: string[] = [];
  for (const dir of cgroupDirs(d.cgroupParent)) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) cg.push(path.join(dir, e.name));
  }
  return {
    containers: ((await j('/containers/json?all=1')) as Array<{ Id: string }>).map((c) => c.Id).sort(),
    volumes: ((await j('/volumes')).Volumes as Array<{ Name: string }>).map((v) => v.Name).sort(),
    networks: ((await j('/networks')) as Array<{ Id: string }>).map((n) => n.Id).sort(),
    images: ((await j('/images/json?all=1')) as Array<{ Id: string }>).map((i) => i.Id).sort(),
    mounts: mountsUnder(d.root).sort(),
    cgroups: cg.sort(),
  };
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** RSS once it has stopped falling (a GC-settle period: idle, read until two readings agree). */
async function settledRss(): Promise<number> {
  let last = rssKiB(d.pid);
  for (let i = 0; i < 10; i++) {
    await sleep(1000);
    const now = rssKiB(d.pid);
    if (Math.abs(now - last) < 1024) return now;
    last = now;
  }
  return last;
}

let before0: Snapshot;
let rss0 = 0;

before(async () => {
  d = await TestDaemon.start();
  const c = await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['sleep', '600'], OpenStdin: true });
  assert.equal(c.status, 201, c.text);
  runId = c.json().Id;
  assert.equal((await d.api.post(`/containers/${runId}/start`)).status, 204);
  const s = await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(s.status, 201, s.text);
  stoppedId = s.json().Id;
  assert.equal((await d.api.post('/volumes/create', { Name: VOL })).status, 201);
  const e = await d.api.post(`/containers/${runId}/exec`, { Cmd: ['true'] });
  assert.equal(e.status, 201, e.text);
  execId = e.json().Id;
  before0 = await snapshot();
  // warm the paths once (a refused body, a body over the limit, a short burst), then take the RSS
  // baseline: what is measured afterwards is growth that stays, not the heap's first expansion
  await rawRequest(request('POST', '/containers/create', Buffer.alloc(17 << 20, 0x20)), { timeout: 30_000 });
  for (let i = 0; i < 50; i++) await rawRequest(request('POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { Privileged: 'no' } })));
  rss0 = await settledRss();
});

after(async () => {
  await cleanupAndCheck(d);
});

/* ------------------------------------------------------------------ the cases */

const BODY_TARGETS: Record<string, () => string> = {
  ContainerCreate: () => `/containers/create?name=fz-${Math.floor(rand() * 1e9)}`,
  ContainerUpdate: () => `/containers/${stoppedId}/update`,
  Commit: () => `/commit?container=${stoppedId}&repo=fz-commit`,
  ExecCreate: () => `/containers/${runId}/exec`,
  ExecStart: () => `/exec/${execId}/start`,
  NetworkCreate: () => '/networks/create',
  NetworkConnect: () => '/networks/none/connect',
  NetworkDisconnect: () => '/networks/none/disconnect',
  VolumeCreate: () => '/volumes/create',
  Auth: () => '/auth',
};
const BASE: Record<string, () => Record<string, unknown>> = {
  ContainerCreate: () => ({ Image: 'busybox', Cmd: ['true'] }),
  NetworkCreate: () => ({ Name: `fz-net-${Math.floor(rand() * 1e9)}` }),
  NetworkConnect: () => ({ Container: stoppedId }),
  NetworkDisconnect: () => ({ Container: stoppedId }),
  VolumeCreate: () => ({ Name: `fz-v-${Math.floor(rand() * 1e9)}` }),
};

const JUNK_SEGMENTS = [
  '..',
  '%2e%2e',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e',
  'a%00b',
  '%00',
  '%ff',
  '%ff%fe',
  '%zz',
  '%',
  'x'.repeat(300),
  '%F0%9F%90%B3',
  'UPPER',
  '-',
  '.',
  'a:b@c',
  '%20',
  '%0d%0aX-Injected:%201',
];
const JUNK_QUERY = [
  'filters=%7B',
  'filters=%ff',
  'filters=%7B%22x%22%3A%5B1%5D%7D',
  'filters=[1]',
  'filters=%7B%22label%22%3A%7B%22a%22%3A1%7D%7D',
  't=abc',
  't=-99999999999999999999',
  'signal=NOPE',
  'signal=%00',
  'tail=x',
  'since=x',
  'until=%ff',
  'h=x&w=-1',
  'h=99999999999',
  'condition=bogus',
  'name=..%2fx',
  'name=%00',
  'path=..%2f..%2f',
  'path=%00',
  'ps_args=%00',
  'size=x',
  'limit=1e9',
  'all=%zz',
  'force=%ff',
  'stream=maybe',
  'detachKeys=ctrl-%ff',
  'tag=%00',
  'fromImage=..%2f..',
  'fromImage=UPPER',
  'fromImage=a%00b',
  'repo=%00',
  'changes=BOGUS%20x',
  'buildargs=%7B%22a%22%3A1%7D',
  'labels=x',
  'cachefrom=%7B%7D',
  'dockerfile=..%2f..%2fetc%2fpasswd',
  'memory=x',
  'names=%00',
  'platform=%00',
];

/** Routes whose valid use reaches outside the host or removes fixtures: only junk IDs and queries reach them. */
const RISKY =
  /prune|\/images\/search|\/push$|\/auth$|\/distribution\/|\/images\/create|\/build$|^DELETE|\/kill$|\/stop$|\/restart$|\/pause$|\/unpause$|\/rename$|\/update$|\/wait$|\/start$|\/attach$|\/exec$|\/commit$|\/archive$|\/create$|\/connect$|\/disconnect$|\/load$|\/tag$|\/events$|\/export$|\/stats$|\/logs$|\/resize$/;

describe(`fuzz of the Engine API (${tag})`, () => {
  it('wrong kinds for every field of every body: 400 with Go decoder text, nothing made', T, async () => {
    const schemas = loadSchemas();
    let checked = 0;
    for (const [name, target] of Object.entries(BODY_TARGETS)) {
      const schema = schemas[name];
      assert.ok(schema, name);
      for (const { path: p, node } of fieldPaths(schema)) {
        const wrong = wrongValue(node);
        if (wrong === undefined) continue;
        const body = BASE[name]?.() ?? {};
        setAt(body, p, wrong);
        const r = await send(`${name} ${JSON.stringify(p)}`, request('POST', target(), JSON.stringify(body)));
        checked++;
        assert.equal(r.status, 400, `${name} ${JSON.stringify(body).slice(0, 300)} → ${r.status} ${r.text.slice(0, 300)} ${tag}`);
        assert.match(
          r.text,
          /"message":"json: cannot unmarshal \S+( \S+)? into Go (struct field \S+|value) of type [^"]+"/,
          `${name} ${JSON.stringify(body).slice(0, 300)} ${tag}`,
        );
      }
      // the body itself of a wrong kind
      for (const top of ['[]', '"x"', '7', 'true']) {
        const r = await send(`${name} top ${top}`, request('POST', target(), top));
        assert.equal(r.status, 400, `${name} ${top} → ${r.status} ${r.text} ${tag}`);
      }
    }
    assert.ok(checked > 400, `only ${checked} field paths checked`);
  });

  it('malformed, cut, huge, deep and badly encoded bodies: 400 or a closed connection, never 5xx', T, async () => {
    const bodies = (): Buffer[] => [
      Buffer.from('{"Image":"busybox",'),
      Buffer.from('{"Image":"busybox" "x"}'),
      Buffer.from('{"Image":tru}'),
      Buffer.from("{'Image':1}"),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28]), // bad UTF-8, cut
      Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // BOM
      Buffer.from('\u0000\u0001\u0002'),
      Buffer.from(`{"Labels":${'['.repeat(20_000)}${']'.repeat(20_000)}}`),
      Buffer.from(`{"Labels":${'{"a":'.repeat(12_000)}1${'}'.repeat(12_000)}}`),
    ];
    // valid JSON that only the create schema refuses (other bodies drop the unknown fields)
    const createOnly = [
      Buffer.concat([Buffer.from('{"Image":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('","Tty":"x"}')]), // bad UTF-8 in a string
      Buffer.from(`{"Image":"${'\\ud800'.repeat(100)}","HostConfig":{"Privileged":1}}`),
      Buffer.from(
        JSON.stringify({ Image: 'busybox', Env: Array.from({ length: 10_000 }, (_, i) => `K${i}=${'v'.repeat(20)}`), HostConfig: { Privileged: 'yes' } }),
      ),
    ];
    for (const [name, target] of Object.entries(BODY_TARGETS)) {
      for (const b of [...bodies(), ...(name === 'ContainerCreate' ? createOnly : [])]) {
        const r = await send(`${name} malformed ${b.subarray(0, 30).toString('latin1')}`, request('POST', target(), b));
        assert.ok(r.status === 400 || r.status === 404, `${name} ${b.subarray(0, 60).toString('latin1')} → ${r.status} ${r.text.slice(0, 200)} ${tag}`);
      }
      // random bytes, and valid JSON cut at a random place
      for (let i = 0; i < 12; i++) {
        // never valid JSON: the first byte is not one JSON starts with
        const junk = Buffer.from([0x80 + Math.floor(rand() * 128), ...Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256))]);
        await send(`${name} random bytes`, request('POST', target(), junk));
        const full = JSON.stringify({ ...(BASE[name]?.() ?? {}), Labels: { a: 'b' }, HostConfig: { Memory: 'x' } });
        const cut = full.slice(0, 1 + Math.floor(rand() * (full.length - 1)));
        await send(`${name} cut JSON`, request('POST', target(), cut));
      }
      // a Content-Length larger than what comes, then the client goes away
      const partial = Buffer.concat([request('POST', target(), '').subarray(0, -2), Buffer.from('Content-Length: 5000\r\n\r\n{"Image":"bu')]);
      await send(`${name} vanishing mid-body`, partial.toString('latin1').replace('Content-Length: 0\r\n', ''), { vanishAfterMs: 50 });
    }
    // bodies over the 16 MiB limit
    const huge = Buffer.alloc(17 << 20, 0x20);
    for (const target of ['/containers/create', '/volumes/create']) {
      const r = await send(`huge ${target}`, request('POST', target, huge), { timeout: 30_000 });
      assert.ok(r.status === 400 || r.status === 0, `huge body to ${target} → ${r.status} ${r.text.slice(0, 200)} ${tag}`);
    }
  });

  it('every route with junk and traversal in names, IDs and queries: never 5xx', T, async () => {
    const routes = registeredRoutes();
    assert.ok(routes.length > 50, `only ${routes.length} routes found`);
    const ids = (): string => pick(JUNK_SEGMENTS);
    const unanswered: string[] = [];
    for (let round = 0; round < 24; round++) {
      for (const r of routes) {
        const risky = RISKY.test(`${r.method} ${r.pattern}`) || RISKY.test(r.pattern);
        const target = r.pattern.replace(/\{(\w+)\*?\}/g, (_m, k: string) => {
          if (!risky && chance(0.3)) return k === 'id' ? pick([runId, stoppedId, runId.slice(0, 12)]) : k === 'name' ? pick(['busybox', VOL]) : ids();
          return ids();
        });
        // a risky route without parameters acts on real things with a valid request: it only gets broken ones
        const blind = risky && !r.pattern.includes('{');
        const q = blind
          ? 'filters=%7B&fromImage=UPPER%00&container=&names=%00'
          : Array.from({ length: Math.floor(rand() * 3) }, () => pick(JUNK_QUERY)).join('&');
        const version = pick(['', '/v1.41', '/v1.24', '/v1.50', '/v1.99', '/v0.1', '//v1.41/', '/v1.41/.']);
        const body = r.method === 'POST' || r.method === 'PUT' ? (blind ? '{"x":' : pick(['', '{}', '{"x":', '[]', 'null', '\u00ff'])) : undefined;
        // streaming answers (events, logs, stats, attach, wait, exec start) are judged by their head;
        // some requests come with Upgrade headers, which every route must answer too
        const upgrade = chance(0.25);
        let bytes = request(r.method, `${version}${target}${q ? `?${q}` : ''}`, body, upgrade ? 'Upgrade: tcp\r\n' : '');
        if (upgrade) bytes = Buffer.from(bytes.toString('latin1').replace('Connection: close', 'Connection: Upgrade'), 'latin1');
        const what = `${r.method} ${version}${target}?${q}${upgrade ? ' (Upgrade)' : ''}`;
        const res = await send(what, bytes, { timeout: 5_000 });
        if (res.status <= 0) unanswered.push(`${what} → ${res.status === 0 ? 'closed without an answer' : 'no answer in 5 s'}`);
      }
    }
    assert.deepEqual(unanswered, [], `requests left unanswered ${tag}`);
    // found by seed 567543431: a NUL in ps_args reached spawn, whose TypeError was a 500
    const top = await send('top with a NUL in ps_args', request('GET', `/v1.41/containers/${runId}/top?ps_args=-ef%00`, undefined, ''), { timeout: 5_000 });
    assert.equal(top.status, 400, `top with a NUL in ps_args ${tag}`);
  });

  it('clients vanishing mid-request, mid-stream and mid-hijack', T, async () => {
    for (let i = 0; i < 20; i++) {
      // attach with stdin, gone right after the upgrade
      const attach = `POST /containers/${runId}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n${chance(0.5) ? 'echo hi\n' : ''}`;
      await send('attach vanish', attach, { vanishAfterMs: 20 + Math.floor(rand() * 200) });
      // exec create + hijacked start, gone mid-stream
      const e = await d.api.post(`/containers/${runId}/exec`, {
        Cmd: ['sh', '-c', 'for i in $(seq 1 50); do echo x; sleep 0.01; done'],
        AttachStdout: true,
        AttachStdin: chance(0.5),
      });
      assert.equal(e.status, 201, e.text);
      const start = request('POST', `/exec/${e.json().Id}/start`, '{"Detach":false,"Tty":false}', 'Upgrade: tcp\r\nConnection: Upgrade\r\n')
        .toString('latin1')
        .replace('Connection: close\r\n', '');
      await send('exec start vanish', start, { vanishAfterMs: 30 + Math.floor(rand() * 200) });
      // an Upgrade request whose body never comes
      await send(
        'upgrade body vanish',
        `POST /exec/${e.json().Id}/start HTTP/1.1\r\nHost: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Det`,
        { vanishAfterMs: 30 },
      );
      // followed logs, waits, events and stats streams, gone
      for (const t of [
        `/containers/${runId}/logs?follow=1&stdout=1`,
        `/containers/${runId}/wait`,
        '/events',
        `/containers/${runId}/stats`,
        `/containers/${runId}/attach?stream=1&stdout=1`,
      ]) {
        await send(`vanish ${t}`, request(t.includes('wait') || t.includes('attach') ? 'POST' : 'GET', t), { vanishAfterMs: 20 + Math.floor(rand() * 100) });
      }
      // a request line and headers cut midway
      await send('cut head', `POST /containers/create HTTP/1.1\r\nHost: be`, { vanishAfterMs: 20 });
    }
    // the running fixture is still running and its exec processes end with it later
    const st = await d.api.inspect(runId);
    assert.equal(st.State.Running, true, `the running fixture survived the vanishing clients ${tag}`);
  });

  it('the daemon is whole afterwards: no 5xx seen, /_ping, RSS near its start, nothing half-made', T, async () => {
    assert.deepEqual(fivexx, [], `5xx answers to client errors ${tag}`);
    await assertPing('at the end');
    assert.ok(sent > 2000, `only ${sent} requests sent`);
    // exec sessions of the vanished clients end; then only the fixtures remain
    await waitFor(
      async () => {
        const now = await snapshot();
        return JSON.stringify(now) === JSON.stringify(before0) ? now : undefined;
      },
      { timeout: 30_000, what: `the same containers, volumes, networks, images, mounts and cgroups as before the fuzz ${tag}` },
    ).catch(async (err: unknown) => {
      const now = await snapshot();
      assert.deepEqual(now, before0, `${(err as Error).message}`);
    });
    // a leak of 20 KiB per request would pass it; a heap that grew once and stays is no leak
    const margin = 64 * 1024;
    const rss = await waitFor(
      async () => {
        const v = await settledRss();
        return v <= rss0 + margin ? v : undefined;
      },
      { timeout: 60_000, interval: 1000, what: `berthd RSS back within ${margin} KiB of ${rss0} KiB (now ${rssKiB(d.pid)} KiB) ${tag}` },
    );
    const hist = [...statuses.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    console.log(`# fuzz: ${sent} requests (${hist}), ${tag}; berthd RSS ${rss0} KiB before, ${rss} KiB after`);
    if (succeeded.length > 0) console.log(`# fuzz: requests that succeeded with 201/204: ${succeeded.join('; ')}`);
  });
});
