/**
 * Shared by test/registry.test.ts and bench/registry.ts: start berth-registry or Debian's CNCF
 * distribution registry on a free loopback port with a temp root, raw HTTP requests, and images
 * made on the fly (layers, config, manifests, OCI layouts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO } from './lib/paths.js';

/** The repository root (bench/lib/paths.ts), for the tests and benches that import it from here. */
export { REPO };
export const BERTH_REGISTRY = path.join(REPO, 'bin/berth-registry');
export const CNCF_BIN = '/usr/bin/docker-registry';
export const SKOPEO = '/usr/bin/skopeo';
export const HTPASSWD = '/usr/bin/htpasswd';
export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER = fs.existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : '/usr/bin/docker';
export const HAVE = {
  cncf: fs.existsSync(CNCF_BIN),
  skopeo: fs.existsSync(SKOPEO),
  htpasswd: fs.existsSync(HTPASSWD),
  dockerd: fs.existsSync(DOCKERD) && fs.existsSync(DOCKER),
  openssl: spawnSync('openssl', ['version']).status === 0,
};

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls fn until truthy or the deadline passes. */
export async function waitFor<T>(fn: () => T | Promise<T>, o: { timeout?: number; interval?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (o.timeout ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${o.what ?? 'condition'} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, o.interval ?? 50));
  }
}

export interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
  code(): string | undefined;
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const tlsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });

/** Where a bench's own berthd or dockerd keeps its socket, roots, pidfile and cgroups. */
export interface BenchDaemonRoots {
  sock: string;
  data: string;
  exec: string;
  pid: string;
  cg: string;
}

/**
 * Starts a bench's own berthd or Debian's dockerd on `c` (an empty daemon.json in `configDir`),
 * with `extra` flags after the common ones, and waits until the docker CLI gets an answer.
 */
export async function startBenchDaemon(kind: 'berthd' | 'dockerd', c: BenchDaemonRoots, configDir: string, extra: string[]): Promise<ChildProcess> {
  fs.mkdirSync(c.data, { recursive: true });
  const cfg = path.join(configDir, `${kind}.json`);
  fs.writeFileSync(cfg, '{}\n');
  const args = [
    '-H',
    `unix://${c.sock}`,
    '--data-root',
    c.data,
    '--exec-root',
    c.exec,
    '--pidfile',
    c.pid,
    '--cgroup-parent',
    c.cg,
    '--config-file',
    cfg,
    ...extra,
  ];
  const proc =
    kind === 'berthd'
      ? spawn(process.execPath, [path.join(REPO, 'bin/berthd'), ...args], { stdio: 'ignore', detached: true })
      : spawn(DOCKERD, args, { stdio: 'ignore', detached: true });
  await waitFor(() => spawnSync(DOCKER, ['-H', `unix://${c.sock}`, 'version'], { stdio: 'ignore' }).status === 0, {
    timeout: 60_000,
    interval: 200,
    what: kind,
  });
  return proc;
}

/** One HTTP request; the body may be a Buffer or a stream. */
export function request(
  base: string,
  method: string,
  p: string,
  o: { headers?: Record<string, string | number>; body?: Buffer | string | NodeJS.ReadableStream } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const url = new URL(p, base);
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { ...(o.headers ?? {}) };
    if ((typeof o.body === 'string' || Buffer.isBuffer(o.body)) && headers['Content-Length'] === undefined)
      headers['Content-Length'] = Buffer.byteLength(o.body);
    const req = mod.request(url, { method, headers, agent: url.protocol === 'https:' ? tlsAgent : agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: <T>(): T => JSON.parse(body.toString('utf8')) as T,
          code: () => {
            try {
              return (JSON.parse(body.toString('utf8')) as { errors?: { code: string }[] }).errors?.[0]?.code;
            } catch {
              return undefined;
            }
          },
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.body === undefined) req.end();
    else if (typeof o.body === 'string' || Buffer.isBuffer(o.body)) req.end(o.body);
    else o.body.pipe(req);
  });
}

export function stopProcess(p: ChildProcess | undefined, timeout = 10_000): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

/** A registry under test: berth-registry or the CNCF distribution registry. */
export interface Target {
  kind: 'berth' | 'cncf';
  host: string;
  base: string;
  root: string;
  log(): string;
  stop(): Promise<void>;
}

/** A berth-registry process on a free loopback port. */
export class BerthRegistry implements Target {
  readonly kind = 'berth' as const;
  proc: ChildProcess | undefined;
  out = '';
  constructor(
    readonly root: string,
    readonly port: number,
    readonly args: string[],
    readonly scheme = 'http',
  ) {}
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }
  get base(): string {
    return `${this.scheme}://${this.host}`;
  }
  log(): string {
    return this.out;
  }

  static async start(o: { args?: string[]; root?: string; port?: number; tls?: boolean } = {}): Promise<BerthRegistry> {
    const root = o.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'berth-reg-test-'));
    const r = new BerthRegistry(root, o.port ?? (await freePort()), o.args ?? [], o.tls ? 'https' : 'http');
    await r.spawn();
    return r;
  }

  async spawn(): Promise<void> {
    const proc = spawn(
      process.execPath,
      [BERTH_REGISTRY, '--listen', this.host, '--root', path.join(this.root, 'data'), '--access-log', path.join(this.root, 'access.log'), ...this.args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    try {
      await waitFor(
        async () => {
          if (proc.exitCode !== null) throw new Error(`berth-registry exited ${proc.exitCode}: ${this.out}`);
          const r = await request(this.base, 'GET', '/healthz').catch(() => undefined);
          return r?.status === 200;
        },
        { timeout: 15_000, what: `berth-registry on ${this.host}` },
      );
    } catch (err) {
      await stopProcess(proc);
      throw err;
    }
  }

  kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Debian's CNCF distribution registry on a free loopback port. */
export class CncfRegistry implements Target {
  readonly kind = 'cncf' as const;
  proc: ChildProcess | undefined;
  out = '';
  constructor(
    readonly root: string,
    readonly port: number,
  ) {}
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }
  get base(): string {
    return `http://${this.host}`;
  }
  log(): string {
    return this.out;
  }
  /** With `htpasswd`, the registry asks for basic auth (one account, made with Debian's htpasswd). */
  static async start(o: { htpasswd?: { user: string; password: string } } = {}): Promise<CncfRegistry> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cncf-test-'));
    const r = new CncfRegistry(root, await freePort());
    let auth = '';
    if (o.htpasswd) {
      const h = spawnSync(HTPASSWD, ['-Bbn', o.htpasswd.user, o.htpasswd.password], { encoding: 'utf8' });
      if (h.status !== 0) {
        await r.stop();
        throw new Error(`htpasswd: ${h.stderr}`);
      }
      fs.writeFileSync(path.join(root, 'htpasswd'), h.stdout);
      auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${path.join(root, 'htpasswd')}\n`;
    }
    fs.writeFileSync(
      path.join(root, 'config.yml'),
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(root, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${r.host}\n${auth}`,
    );
    const proc = spawn(CNCF_BIN, ['serve', path.join(root, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    r.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (r.out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (r.out += d.toString()));
    const ready = o.htpasswd ? [200, 401] : [200];
    try {
      await waitFor(
        async () => {
          if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${r.out}`);
          return ready.includes((await request(r.base, 'GET', '/v2/').catch(() => undefined))?.status ?? 0);
        },
        { timeout: 15_000, what: `docker-registry on ${r.host}` },
      );
    } catch (err) {
      await r.stop();
      throw err;
    }
    return r;
  }
  async stop(): Promise<void> {
    await stopProcess(this.proc);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Images made on the fly

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

/** A minimal ustar archive holding the given files (enough for a layer). */
export function tarOf(files: Record<string, Buffer | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface Image {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  mediaType: string;
  digest: string;
}

/** An image of `n` small gzip layers (OCI or Docker schema 2 media types). */
export function makeImage(o: {
  seed: string;
  layers?: number;
  docker?: boolean;
  subject?: { digest: string; size: number; mediaType: string };
  artifactType?: string;
}): Image {
  const tars = Array.from({ length: o.layers ?? 2 }, (_, i) => tarOf({ [`file-${o.seed}-${i}`]: `${o.seed} layer ${i}\n` }));
  const layers = tars.map((t) => gzipSync(t));
  const diffIds = tars.map((t) => sha256(t));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'], Labels: { seed: o.seed } },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const mediaType = o.docker ? MT.dockerManifest : MT.ociManifest;
  const m: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: o.docker ? MT.dockerConfig : MT.ociConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: o.docker ? MT.dockerLayer : MT.ociLayer, digest: sha256(l), size: l.length })),
  };
  if (o.artifactType) m.artifactType = o.artifactType;
  if (o.subject) m.subject = o.subject;
  const manifest = Buffer.from(JSON.stringify(m));
  return { config, layers, manifest, mediaType, digest: sha256(manifest) };
}

/** Pushes a blob monolithically (POST then PUT). */
export async function pushBlob(base: string, name: string, data: Buffer, headers: Record<string, string> = {}): Promise<Res> {
  const post = await request(base, 'POST', `/v2/${name}/blobs/uploads/`, { headers });
  if (post.status !== 202) return post;
  const loc = new URL(String(post.headers.location), base);
  loc.searchParams.set('digest', sha256(data));
  return request(base, 'PUT', loc.pathname + loc.search, { body: data, headers: { ...headers, 'Content-Type': 'application/octet-stream' } });
}

/** Pushes an image (blobs then manifest by tag). */
export async function pushImage(base: string, name: string, tag: string, img: Image, headers: Record<string, string> = {}): Promise<Res> {
  for (const b of [img.config, ...img.layers]) {
    const r = await pushBlob(base, name, b, headers);
    if (r.status !== 201) throw new Error(`push blob: ${r.status} ${r.body.toString()}`);
  }
  return request(base, 'PUT', `/v2/${name}/manifests/${tag}`, { body: img.manifest, headers: { ...headers, 'Content-Type': img.mediaType } });
}

/** Writes an image as an OCI layout directory with `tag` as its ref name. */
export function writeOciLayout(dir: string, img: Image, tag: string): void {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of [img.config, ...img.layers, img.manifest]) fs.writeFileSync(path.join(dir, 'blobs', 'sha256', sha256(b).slice(7)), b);
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: img.mediaType, digest: img.digest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
}

/** Runs a command to completion. */
export function run(
  file: string,
  args: string[],
  o: { env?: Record<string, string>; input?: Buffer | string; timeout?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; desc: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input);
    const t = setTimeout(() => child.kill('SIGKILL'), o.timeout ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr, desc: `${file} ${args.join(' ')}\n--- stdout\n${stdout.slice(-2000)}\n--- stderr\n${stderr.slice(-3000)}` });
    });
  });
}
