/**
 * berth-web (issue 19, the dashboard): a real berthd (TestDaemon) and bin/berth-web on a free
 * loopback port. HTTP-level checks of the security frame — 401 without or with a wrong token,
 * `?token=` trading the token for an HttpOnly SameSite=Strict cookie, CSRF and Origin/Host
 * refusals, the allow-list refusing container create and exec, no non-loopback listener without
 * TLS, HTTPS with --tls-cert/--tls-key — then the page in Debian's headless Chromium driven by
 * playwright-core: a container started through the docker CLI appears live, its logs show, and
 * it is stopped from the page; an image is pulled from a loopback berth-registry with per-layer
 * progress. Screenshots: docs/web-dashboard.png, docs/web-images.png, docs/web-df.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { BERTH, DOCKER, REPO, TestDaemon, cleanupAndCheck, run, waitFor } from './helpers/daemon.js';
import { drainNetLeftovers } from './helpers/net.js';
import { BerthRegistry } from '../bench/registry-harness.js';

/**
 * Where the page's screenshots go: docs/ when BERTH_SCREENSHOTS=docs (to refresh the ones the docs
 * show), else a temp dir, so a test run leaves the checkout as it found it.
 */
const SHOT_DIR = process.env['BERTH_SCREENSHOTS'] === 'docs' ? path.join(REPO, 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'berth-web-shots-'));
const shot = (name: string): string => path.join(SHOT_DIR, name);
after(() => {
  if (process.env['BERTH_SCREENSHOTS'] !== 'docs') fs.rmSync(SHOT_DIR, { recursive: true, force: true });
});

const BERTH_WEB = path.join(REPO, 'bin/berth-web');
const CHROMIUM = '/usr/bin/chromium';
const T = { timeout: 120_000 };
/** The test daemon's default bridge and subnet (this file's own). */
const BRIDGE = 'bweb0';

interface Web {
  proc: ChildProcess;
  url: string;
  port: number;
  token: string;
  out: string[];
}

/** Starts bin/berth-web; resolves once it printed its URL. */
async function startWeb(args: string[]): Promise<Web> {
  const proc = spawn(process.execPath, [BERTH_WEB, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
  const out: string[] = [];
  proc.stdout.on('data', (b: Buffer) => out.push(b.toString()));
  proc.stderr.on('data', (b: Buffer) => out.push(b.toString()));
  const m = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`berth-web exited: ${out.join('')}`);
      return /open (https?:\/\/[^/\s]+)\/\?token=([0-9a-f]{64})/.exec(out.join(''));
    },
    { timeout: 15_000, what: 'berth-web to print its URL' },
  );
  return { proc, url: m[1]!, port: Number(new URL(m[1]!).port), token: m[2]!, out };
}

async function stopWeb(w: Web | undefined): Promise<void> {
  if (!w || w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  const gone = new Promise<void>((r) => w.proc.once('exit', () => r()));
  w.proc.kill('SIGTERM');
  const t = setTimeout(() => w.proc.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(t);
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request to berth-web; `stream` reads only the head and the first chunk, then hangs up. */
function req(w: Web, method: string, p: string, headers: Record<string, string> = {}, o: { stream?: boolean; tls?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const mod = o.tls ? https : http;
    const r = mod.request(
      { host: '127.0.0.1', port: w.port, method, path: p, headers, agent: false, ...(o.tls ? { rejectUnauthorized: false } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() });
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (o.stream) {
            res.destroy();
            done();
          }
        });
        res.on('end', done);
      },
    );
    r.setTimeout(20_000, () => r.destroy(new Error(`${method} ${p} timed out`)));
    r.on('error', reject);
    r.end();
  });
}

/** Reads an SSE stream until `until` holds for what arrived (then hangs up), or the deadline. */
function readSse(w: Web, p: string, headers: Record<string, string>, until: (text: string) => boolean, timeout = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const r = http.request({ host: '127.0.0.1', port: w.port, path: p, headers, agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${p}: ${res.statusCode}`));
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (until(text)) {
          clearTimeout(timer);
          res.destroy();
          resolve(text);
        }
      });
    });
    const timer = setTimeout(() => {
      r.destroy();
      reject(new Error(`${p}: no match within ${timeout} ms; got:\n${text}`));
    }, timeout);
    r.on('error', (e) => (text === '' ? reject(e) : undefined));
    r.end();
  });
}

const json = (a: Answer): { message?: string; csrf?: string } => JSON.parse(a.text) as { message?: string; csrf?: string };

let d: TestDaemon | undefined;
let web: Web | undefined;

before(async () => {
  d = await TestDaemon.start({ bridge: BRIDGE, bip: '10.209.0.1/24' });
  web = await startWeb(['-H', d.host, '--listen', '127.0.0.1:0', '--token-file', path.join(d.root, 'web-token')]);
});

after(async () => {
  try {
    await stopWeb(web);
    await cleanupAndCheck(d);
  } finally {
    assert.deepEqual(await drainNetLeftovers([BRIDGE], waitFor), [], 'no veths left on the test bridge');
  }
});

/** A session as a browser gets it: the cookie from `/?token=`, the CSRF value from /api/session. */
async function session(w: Web): Promise<{ cookie: string; csrf: string }> {
  const a = await req(w, 'GET', `/?token=${w.token}`);
  const set = a.headers['set-cookie']?.[0] ?? '';
  const cookie = set.split(';')[0]!;
  const s = await req(w, 'GET', '/api/session', { Cookie: cookie });
  assert.equal(s.status, 200, s.text);
  return { cookie, csrf: json(s).csrf ?? '' };
}

describe('berth-web: access', () => {
  it('answers 401 JSON to /api/ without a token', T, async () => {
    for (const p of ['/api/engine/containers/json', '/api/stream/events', '/api/session', '/api/engine/containers/create']) {
      const a = await req(web!, 'GET', p);
      assert.equal(a.status, 401, `${p}: ${a.text}`);
      assert.match(a.headers['content-type'] ?? '', /application\/json/);
      assert.match(json(a).message ?? '', /unauthorized/);
    }
  });

  it('answers 401 to a wrong token, as Bearer, as ?token= and as a made-up cookie', T, async () => {
    const wrong = 'f'.repeat(64);
    assert.equal((await req(web!, 'GET', '/api/engine/containers/json', { Authorization: `Bearer ${wrong}` })).status, 401);
    assert.equal((await req(web!, 'GET', '/api/engine/containers/json', { Authorization: `Bearer ${web!.token}x` })).status, 401);
    assert.equal((await req(web!, 'GET', '/api/engine/containers/json', { Authorization: 'Basic Zm9vOmJhcg==' })).status, 401);
    assert.equal((await req(web!, 'GET', '/api/engine/containers/json', { Cookie: 'berth_web_session=abc' })).status, 401);
    const page = await req(web!, 'GET', `/?token=${wrong}`);
    assert.equal(page.status, 401);
    assert.equal(page.headers['set-cookie'], undefined);
  });

  it('accepts the Bearer token and writes it to --token-file with mode 0600', T, async () => {
    const a = await req(web!, 'GET', '/api/engine/containers/json', { Authorization: `Bearer ${web!.token}` });
    assert.equal(a.status, 200, a.text);
    assert.ok(Array.isArray(JSON.parse(a.text)));
    const f = path.join(d!.root, 'web-token');
    assert.equal(fs.readFileSync(f, 'utf8').trim(), web!.token);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  });

  it('trades ?token= for an HttpOnly SameSite=Strict session cookie and a redirect to /', T, async () => {
    const a = await req(web!, 'GET', `/?token=${web!.token}`);
    assert.equal(a.status, 303);
    assert.equal(a.headers['location'], '/');
    const set = a.headers['set-cookie']?.[0] ?? '';
    assert.match(set, /^berth_web_session=[A-Za-z0-9_-]{20,};/);
    assert.match(set, /; HttpOnly/);
    assert.match(set, /; SameSite=Strict/);
    assert.doesNotMatch(set, /Secure/, 'plain HTTP: no Secure attribute');
    const cookie = set.split(';')[0]!;
    const list = await req(web!, 'GET', '/api/engine/images/json', { Cookie: cookie });
    assert.equal(list.status, 200, list.text);
    const s = await req(web!, 'GET', '/api/session', { Cookie: cookie });
    assert.match(json(s).csrf ?? '', /^[A-Za-z0-9_-]{20,}$/);
    // the page itself: served with a CSP that allows nothing from elsewhere
    const page = await req(web!, 'GET', '/', { Cookie: cookie });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy'] ?? ''), /default-src 'none'; script-src 'self'/);
    // logging out ends the session
    const out = await req(web!, 'DELETE', '/api/session', { Cookie: cookie, 'X-CSRF-Token': json(s).csrf ?? '' });
    assert.equal(out.status, 200, out.text);
    assert.equal((await req(web!, 'GET', '/api/engine/images/json', { Cookie: cookie })).status, 401);
  });

  it('refuses a state-changing request with the cookie but without the right X-CSRF-Token', T, async () => {
    const r = await d!.docker(['create', '--name', 'csrf-target', 'busybox', 'sleep', '60']);
    assert.equal(r.code, 0, r.desc);
    const s = await session(web!);
    const p = '/api/engine/containers/csrf-target/start';
    const none = await req(web!, 'POST', p, { Cookie: s.cookie });
    assert.equal(none.status, 403, none.text);
    assert.match(json(none).message ?? '', /CSRF/);
    assert.equal((await req(web!, 'POST', p, { Cookie: s.cookie, 'X-CSRF-Token': 'nope' })).status, 403);
    assert.equal((await d!.state('csrf-target')).Status, 'created', 'nothing started');
    const good = await req(web!, 'POST', p, { Cookie: s.cookie, 'X-CSRF-Token': s.csrf });
    assert.equal(good.status, 204, good.text);
    assert.equal((await d!.state('csrf-target')).Running, true);
    // Bearer needs no CSRF value (no browser attaches it by itself)
    const rm = await req(web!, 'DELETE', '/api/engine/containers/csrf-target?force=1', { Authorization: `Bearer ${web!.token}` });
    assert.equal(rm.status, 204, rm.text);
  });

  it('refuses another Origin, a cross-site fetch and a foreign Host, even with a good session', T, async () => {
    const s = await session(web!);
    const own = `http://127.0.0.1:${web!.port}`;
    const ok = await req(web!, 'GET', '/api/stream/events', { Cookie: s.cookie, Origin: own }, { stream: true });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.headers['content-type'] ?? '', /text\/event-stream/);
    for (const h of <Record<string, string>[]>[
      { Origin: 'http://evil.example' },
      { Origin: `http://localhost:${web!.port + 1}` },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
    ]) {
      const sse = await req(web!, 'GET', '/api/stream/events', { Cookie: s.cookie, ...h });
      assert.equal(sse.status, 403, `${JSON.stringify(h)}: ${sse.text}`);
      const post = await req(web!, 'POST', '/api/engine/containers/x/stop', { Cookie: s.cookie, 'X-CSRF-Token': s.csrf, ...h });
      assert.equal(post.status, 403, `${JSON.stringify(h)}: ${post.text}`);
    }
    // DNS rebinding: a loopback listener answers only loopback names
    const rebound = await req(web!, 'GET', '/api/engine/containers/json', { Authorization: `Bearer ${web!.token}`, Host: `evil.example:${web!.port}` });
    assert.equal(rebound.status, 403, rebound.text);
    const token = await req(web!, 'GET', `/?token=${web!.token}`, { 'Sec-Fetch-Site': 'cross-site' });
    assert.equal(token.status, 403, 'no session from a link on another site');
  });

  it('forwards only the allow-list: create, exec, archive, build, import and unknown paths are refused', T, async () => {
    const bearer = { Authorization: `Bearer ${web!.token}` };
    const r = await d!.docker(['run', '-d', '--name', 'allow-target', 'busybox', 'sleep', '600']);
    assert.equal(r.code, 0, r.desc);
    const refused: [string, string][] = [
      ['POST', '/api/engine/containers/create'],
      ['POST', '/api/engine/containers/allow-target/exec'],
      ['POST', '/exec/abc/start'.replace(/^/, '/api/engine')],
      ['GET', '/api/engine/containers/allow-target/archive?path=/etc'],
      ['POST', '/api/engine/containers/allow-target/attach'],
      ['POST', '/api/engine/build'],
      ['POST', '/api/engine/containers/allow-target/kill'],
      ['POST', '/api/engine/volumes/create'],
      ['DELETE', '/api/engine/images/busybox'],
      ['GET', '/api/engine/containers/..%2F..%2Fexec/json'],
      ['GET', '/api/engine/v1.50/containers/json'],
      ['GET', '/api/engine/_ping'],
    ];
    for (const [m, p] of refused) {
      const a = await req(web!, m, p, bearer);
      assert.equal(a.status, 403, `${m} ${p}: ${a.status} ${a.text}`);
    }
    const exec = await req(web!, 'POST', '/api/engine/containers/allow-target/exec', bearer);
    assert.match(json(exec).message ?? '', /does not forward POST \/containers\/allow-target\/exec/);
    const imp = await req(web!, 'POST', '/api/engine/images/create?fromSrc=http://127.0.0.1:1/x.tar', bearer);
    assert.equal(imp.status, 400, imp.text);
    // what is allowed works, and the daemon's errors come through with their status
    for (const p of [
      '/containers/json?all=1',
      '/images/json',
      '/images/busybox/history',
      '/images/busybox/json',
      '/volumes',
      '/networks',
      '/system/df',
      '/version',
    ]) {
      const a = await req(web!, 'GET', `/api/engine${p}`, bearer);
      assert.equal(a.status, 200, `${p}: ${a.text}`);
    }
    const missing = await req(web!, 'GET', '/api/engine/containers/no-such-thing/json', bearer);
    assert.equal(missing.status, 404, missing.text);
    assert.match(json(missing).message ?? '', /No such container/);
    const logs = await req(web!, 'GET', '/api/stream/containers/allow-target/logs?tail=all', bearer);
    assert.equal(logs.status, 200);
    assert.match(logs.text, /event: end/);
  });

  it("streams every running container's stats on one SSE stream, following new ones", T, async () => {
    const bearer = { Authorization: `Bearer ${web!.token}` };
    const a = await d!.docker(['run', '-d', '--name', 'stats-a', 'busybox', 'sleep', '600']);
    assert.equal(a.code, 0, a.desc);
    const idA = a.stdout.trim();
    const events: { id: string; cpuPercent: number; memUsage: number }[] = [];
    const parse = (text: string): void => {
      events.length = 0;
      for (const m of text.matchAll(/^data: (.*)$/gm)) events.push(JSON.parse(m[1]!));
    };
    let idB = '';
    let started = false;
    await readSse(web!, '/api/stream/stats', bearer, (text) => {
      parse(text);
      if (!started && events.some((e) => e.id === idA)) {
        started = true;
        void d!.docker(['run', '-d', '--name', 'stats-b', 'busybox', 'sleep', '600']).then((b) => (idB = b.stdout.trim()));
      }
      return idB !== '' && events.some((e) => e.id === idB);
    });
    const b = events.find((e) => e.id === idB)!;
    assert.equal(typeof b.cpuPercent, 'number');
    assert.ok(b.memUsage > 0, JSON.stringify(b));
    // one container's own stream, too
    const one = await readSse(web!, '/api/stream/containers/stats-a/stats', bearer, (t) => /^data: /m.test(t));
    assert.match(one, /"memLimit":\d+/);
    for (const n of ['stats-a', 'stats-b']) assert.equal((await d!.docker(['rm', '-f', n])).code, 0);
  });

  it('refuses to listen beyond loopback without TLS', T, async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0', '10.209.0.1:0']) {
      const r = await run(process.execPath, [BERTH_WEB, '-H', d!.host, '--listen', listen], { timeout: 15_000 });
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, /refusing to listen on .* without TLS/);
    }
    const half = await run(process.execPath, [BERTH_WEB, '--listen', '127.0.0.1:0', '--tls-cert', '/nonexistent'], { timeout: 15_000 });
    assert.equal(half.code, 1, half.desc);
    assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  });

  it("answers 502 with the client's wording when the daemon cannot be reached", T, async () => {
    const w = await startWeb(['-H', `unix://${path.join(d!.root, 'no-such.sock')}`, '--listen', '127.0.0.1:0']);
    try {
      const a = await req(w, 'GET', '/api/engine/containers/json', { Authorization: `Bearer ${w.token}` });
      assert.equal(a.status, 502, a.text);
      assert.match(json(a).message ?? '', /Cannot connect to the Berth daemon/);
      const sse = await req(w, 'GET', '/api/stream/events', { Authorization: `Bearer ${w.token}` });
      assert.equal(sse.status, 502, sse.text);
    } finally {
      await stopWeb(w);
    }
  });

  it('serves HTTPS with --tls-cert/--tls-key, with a Secure cookie', T, async () => {
    const pki = path.join(d!.root, 'web-pki');
    const init = await run(process.execPath, [BERTH, 'tls', 'init', '--dir', pki, '--hostname', 'localhost']);
    assert.equal(init.code, 0, init.desc);
    const w = await startWeb([
      '-H',
      d!.host,
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      path.join(pki, 'server-cert.pem'),
      '--tls-key',
      path.join(pki, 'server-key.pem'),
    ]);
    try {
      assert.match(w.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const a = await req(w, 'GET', `/?token=${w.token}`, {}, { tls: true });
      assert.equal(a.status, 303);
      assert.match(a.headers['set-cookie']?.[0] ?? '', /; Secure/);
      assert.equal((await req(w, 'GET', '/api/engine/containers/json', {}, { tls: true })).status, 401);
    } finally {
      await stopWeb(w);
    }
  });
});

describe('berth-web: the page in headless Chromium', () => {
  it('shows a container started by the docker CLI live, its logs, and drives its life cycle from the page', { timeout: 240_000 }, async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/install-deps.sh)`);
    assert.ok(fs.existsSync(DOCKER), `the docker CLI is missing at ${DOCKER}`);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('dialog', (dlg) => void dlg.accept());
      // more running containers than a browser's six connections per server: the page must still
      // load, follow every one's stats and open the logs (one shared stats stream, not one each)
      const extra = ['web-x1', 'web-x2', 'web-x3', 'web-x4', 'web-x5', 'web-x6'];
      for (const n of extra) {
        const x = await d!.docker(['run', '-d', '--name', n, 'busybox', 'sleep', '600']);
        assert.equal(x.code, 0, x.desc);
      }
      await page.goto(`${web!.url}/?token=${web!.token}`);
      assert.equal(page.url(), `${web!.url}/`, 'the token is out of the URL');
      await page.waitForSelector('#tabs button[data-view="containers"].active');
      await page.waitForSelector('#live.on', { timeout: 20_000 });

      // started outside the page: it must appear without a reload (the /events stream)
      const script = 'trap "exit 0" TERM; echo hello-from-the-dashboard; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done';
      const r = await d!.docker(['run', '-d', '--name', 'web-live', '-p', '127.0.0.1::8080', 'busybox', 'sh', '-c', script]);
      assert.equal(r.code, 0, r.desc);
      const row = 'tr[data-name="web-live"]';
      await page.waitForSelector(`${row}[data-state="running"]`, { timeout: 20_000 });
      // its published port is a link to this host's port
      const inspect = await d!.api.inspect('web-live');
      const hostPort = String(inspect.NetworkSettings.Ports['8080/tcp'][0].HostPort);
      const href = await page.getAttribute(`${row} td a`, 'href');
      assert.equal(href, `http://127.0.0.1:${hostPort}/`);
      // the stats stream feeds the sparklines: wait for a few points
      await page.waitForFunction((sel) => (document.querySelector(`${sel} svg.spark polyline`)?.getAttribute('points') ?? '').split(' ').length >= 5, row, {
        timeout: 30_000,
      });

      await page.waitForFunction((names) => names.every((n) => /%/.test(document.querySelector(`tr[data-name="${n}"] .spark-val`)?.textContent ?? '')), extra, {
        timeout: 30_000,
      });
      await page.click(`${row} button[data-action="logs"]`);
      await page.waitForFunction(() => (document.getElementById('log-lines')?.textContent ?? '').includes('hello-from-the-dashboard'), undefined, {
        timeout: 20_000,
      });
      await page.waitForFunction(() => (document.getElementById('log-lines')?.textContent ?? '').includes('tick 3'), undefined, { timeout: 20_000 });
      await page.fill('#log-search', 'tick 2');
      await page.waitForFunction(() => document.querySelectorAll('#log-lines div').length === 1, undefined, { timeout: 10_000 });
      await page.fill('#log-search', '');
      await page.screenshot({ path: shot('web-dashboard.png') });

      await page.click(`${row} button[data-action="stop"]`);
      await page.waitForSelector(`${row}[data-state="exited"]`, { timeout: 30_000 });
      const st = await d!.state('web-live');
      assert.equal(st.Running, false);
      assert.equal(st.ExitCode, 0);
      // the other actions, each seen back through /events
      for (const [action, state] of [
        ['start', 'running'],
        ['pause', 'paused'],
        ['unpause', 'running'],
        ['restart', 'running'],
      ] as const) {
        const before = (await d!.state('web-live')).StartedAt as string;
        await page.click(`${row} button[data-action="${action}"]`);
        await page.waitForSelector(`${row}[data-state="${state}"]`, { timeout: 30_000 });
        if (action === 'restart') await waitFor(async () => (await d!.state('web-live')).StartedAt !== before, { timeout: 30_000, what: 'a restart' });
      }
      for (const n of extra) assert.equal((await d!.docker(['rm', '-f', n])).code, 0);
      await page.waitForSelector('tr[data-name="web-x1"]', { state: 'detached', timeout: 30_000 });
      await page.click(`${row} button[data-action="remove"]`);
      await page.waitForSelector(row, { state: 'detached', timeout: 30_000 });
      assert.equal((await d!.api.get('/containers/web-live/json')).status, 404);

      for (const v of ['images', 'volumes', 'networks', 'df']) {
        await page.click(`#tabs button[data-view="${v}"]`);
        await page.waitForSelector(`#tabs button[data-view="${v}"].active`);
      }
      await page.waitForSelector('#df-chart');

      // pull from the page: a layer this daemon does not have, with its progress bar
      const reg = await BerthRegistry.start();
      try {
        const ref = `${reg.host}/web/big:1`;
        const mk = await d!.docker(['run', '--name', 'layer-src', 'busybox', 'sh', '-c', 'head -c 3000000 /dev/urandom > /big']);
        assert.equal(mk.code, 0, mk.desc);
        for (const args of [
          ['commit', 'layer-src', ref],
          ['push', ref],
          ['rm', 'layer-src'],
          ['rmi', ref],
        ]) {
          const x = await d!.docker(args, { timeout: 60_000 });
          assert.equal(x.code, 0, x.desc);
        }
        await page.click('#logs button.right');
        await page.waitForSelector('#logs', { state: 'hidden' });
        await page.click('#tabs button[data-view="images"]');
        await page.fill('form.pull input', ref);
        await page.click('form.pull button');
        await page.waitForSelector(`tr[data-image="${ref}"]`, { timeout: 60_000 });
        const bars = await page.$$eval('.layer progress', (els) => els.map((e) => [(e as HTMLProgressElement).value, (e as HTMLProgressElement).max]));
        assert.ok(bars.length >= 2, `a bar per layer: ${JSON.stringify(bars)}`);
        for (const [v, max] of bars) assert.equal(v, max, `every bar full: ${JSON.stringify(bars)}`);
        const texts = await page.$$eval('.layer', (els) => els.map((e) => e.textContent ?? ''));
        assert.ok(
          texts.some((t) => /Pull complete/.test(t)),
          texts.join('\n'),
        );
        assert.ok(
          texts.some((t) => /Already exists/.test(t)),
          texts.join('\n'),
        );
        await page.screenshot({ path: shot('web-images.png') });
        await page.click('#tabs button[data-view="df"]');
        await page.waitForFunction(() => /2 images/.test(document.getElementById('df-chart')?.textContent ?? ''), undefined, { timeout: 10_000 });
        await page.screenshot({ path: shot('web-df.png') });
      } finally {
        await reg.stop();
      }
      await page.click('#tabs button[data-view="images"]');
      await page.click('tr[data-image="busybox:latest"]');
      await page.waitForFunction(() => /History of busybox:latest/.test(document.querySelector('.details')?.textContent ?? ''), undefined, { timeout: 10_000 });
      assert.deepEqual(problems, [], 'no errors in the page');
    } finally {
      await browser.close();
    }
  });
});
