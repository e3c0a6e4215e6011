/**
 * `berth build` / `berth builder prune`: sends a context (a directory packed with .dockerignore
 * applied, a tar or Dockerfile on stdin, or a git/HTTP URL) to /build and prints the classic
 * build stream; `-q` prints only the image ID, `--iidfile` writes it.
 */
// Static: a dynamic import of this CommonJS package from a split chunk yields only its default export.
import * as tarStream from 'tar-stream';
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { PassThrough, Transform, Writable, type Readable } from 'node:stream';
import { cleanRel, isIgnored, parseIgnore } from '../build/ignore.js';
import { packPath } from '../lib/tarpack.js';
import { StatusError, promptYes, type Cli, type CommandDef } from './common.js';
import type { ParsedFlags } from './flags.js';
import { humanSize, parseMemory } from './format.js';
import { displayJsonMessages, JsonMessageError } from './progress.js';

const isRemote = (s: string): boolean => /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(s);

function keyValues(list: string[], what: string, env = false): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i === 0) throw new Error(`invalid ${what}: ${item}`);
    if (i < 0) out[item] = env ? (process.env[item] ?? null) : '';
    else out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** `--secret id=x,src=path` / `id=x,env=VAR` → id → base64 content. */
function secrets(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of list) {
    const kv = new Map(
      s.split(',').map((p) => {
        const i = p.indexOf('=');
        return [i < 0 ? p : p.slice(0, i), i < 0 ? '' : p.slice(i + 1)] as [string, string];
      }),
    );
    const id = kv.get('id');
    if (!id) throw new Error(`invalid secret ${s}: id is required`);
    const src = kv.get('src') ?? kv.get('source');
    const env = kv.get('env');
    let content: Buffer;
    if (env) content = Buffer.from(process.env[env] ?? '');
    else content = readFileSync(src ?? id);
    out[id] = content.toString('base64');
  }
  return out;
}

async function contextFromDir(dir: string, dockerfileFlag: string | undefined): Promise<{ body: Readable; dockerfile: string }> {
  const st = await fsp.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`unable to prepare context: path "${dir}" not found`);
  const dfHost = dockerfileFlag ? nodePath.resolve(dockerfileFlag === '-' ? dockerfileFlag : dockerfileFlag) : nodePath.join(dir, 'Dockerfile');
  const root = nodePath.resolve(dir);
  const relDf = nodePath.relative(root, dfHost);
  const inside = !relDf.startsWith('..') && !nodePath.isAbsolute(relDf);
  let ignoreText = '';
  for (const name of [`${dfHost}.dockerignore`, nodePath.join(root, '.dockerignore')]) {
    try {
      ignoreText = await fsp.readFile(name, 'utf8');
      break;
    } catch {
      /* next */
    }
  }
  const rules = parseIgnore(ignoreText);
  const keep = new Set(inside ? [cleanRel(relDf), '.dockerignore'] : ['.dockerignore']);
  const tar = packPath(root, {
    rename: '',
    omit: (name) => isIgnored(rules, name) && !keep.has(name) && !rules.some((r) => r.exclusion && r.pattern.startsWith(`${name}/`)),
  });
  if (inside) return { body: tar, dockerfile: cleanRel(relDf) };
  // A Dockerfile outside the context travels inside it under a name of its own, as docker does.
  const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
  const dfBytes = await fsp.readFile(dfHost).catch(() => {
    throw new Error(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dfHost}: no such file or directory`);
  });
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  extract.on('entry', (header, stream, next) => {
    stream.pipe(pack.entry(header, next));
  });
  extract.on('finish', () => {
    pack.entry({ name, mode: 0o600, mtime: new Date() }, dfBytes);
    pack.finalize();
  });
  tar.pipe(extract);
  return { body: pack as unknown as Readable, dockerfile: name };
}

/**
 * berth's own build view (`--progress tty`, the default on a terminal): one line per step with
 * its number, CACHED or its time, and RUN output indented under it, instead of the classic
 * "Step N/M", "--->" and "Removing intermediate container" lines.
 */
class StepView extends Writable {
  private buf = '';
  private step: { n: string; started: number; cached: boolean } | undefined;
  private readonly t0 = Date.now();

  constructor(private readonly target: NodeJS.WritableStream) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.buf += chunk.toString('utf8');
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      this.line(this.buf.slice(0, i));
      this.buf = this.buf.slice(i + 1);
    }
    cb();
  }

  private secs(ms: number): string {
    return `${(ms / 1000).toFixed(1)}s`;
  }

  private line(l: string): void {
    const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(l);
    if (step) {
      this.endStep();
      this.step = { n: step[1] as string, started: Date.now(), cached: false };
      this.target.write(`#${step[1]}/${step[2]} ${step[3]}\n`);
      return;
    }
    if (/^ ---> Using cache$/.test(l)) {
      if (this.step) this.step.cached = true;
      return;
    }
    if (/^ ---> (Running in [0-9a-f]+|[0-9a-f]{12}|scratch)$/.test(l) || /^Removing intermediate container /.test(l)) return;
    const done = /^Successfully (built|tagged) (.*)$/.exec(l);
    if (done) {
      this.endStep();
      this.target.write(done[1] === 'built' ? `=> image ${done[2]} (${this.secs(Date.now() - this.t0)})\n` : `=> tagged ${done[2]}\n`);
      return;
    }
    const n = this.step?.n ?? '0';
    this.target.write(`#${n} ${this.secs(Date.now() - (this.step?.started ?? this.t0))} ${l}\n`);
  }

  private endStep(): void {
    const s = this.step;
    if (!s) return;
    this.target.write(`#${s.n} ${s.cached ? 'CACHED' : `DONE ${this.secs(Date.now() - s.started)}`}\n`);
    this.step = undefined;
  }

  finish(): void {
    if (this.buf !== '') this.line(this.buf);
    this.buf = '';
    this.endStep();
  }
}

async function buildCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const ctx = flags.args[0] as string;
  const quiet = flags.bool('quiet');
  let body: Readable | undefined;
  let remote: string | undefined;
  let dockerfile = flags.string('file');
  if (ctx === '-') {
    // stdin: a tar context, or a Dockerfile alone.
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const data = Buffer.concat(chunks);
    const isTar = (data[0] === 0x1f && data[1] === 0x8b) || data.subarray(257, 262).toString('latin1') === 'ustar';
    if (isTar) body = (await import('node:stream')).Readable.from([data]);
    else {
      const pack = tarStream.pack();
      pack.entry({ name: 'Dockerfile', mode: 0o644, mtime: new Date() }, data);
      pack.finalize();
      body = pack as unknown as Readable;
      dockerfile = 'Dockerfile';
    }
  } else if (isRemote(ctx)) {
    remote = ctx;
  } else {
    const c = await contextFromDir(ctx, dockerfile);
    body = c.body;
    dockerfile = c.dockerfile;
  }
  let sent = 0;
  if (body) {
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        cb(null, chunk);
      },
      flush(cb) {
        if (!quiet) cli.err.write(`Sending build context to Berth daemon  ${humanSize(sent)}\n`);
        cb();
      },
    });
    body.pipe(counter);
    body = counter;
  }
  const memory = flags.string('memory');
  const memswap = flags.string('memory-swap');
  const shm = flags.string('shm-size');
  const secretList = flags.list('secret');
  const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
  if (secretList.length > 0) headers['X-Berth-Build-Secrets'] = Buffer.from(JSON.stringify(secrets(secretList))).toString('base64');
  const res = await cli.client.request({
    method: 'POST',
    path: '/build',
    query: {
      t: flags.list('tag'),
      dockerfile,
      remote,
      q: quiet,
      nocache: flags.bool('no-cache'),
      pull: flags.bool('pull'),
      rm: flags.has('rm') ? (flags.bool('rm') ? '1' : '0') : '1',
      forcerm: flags.bool('force-rm'),
      target: flags.string('target'),
      networkmode: flags.string('network'),
      platform: flags.string('platform'),
      buildargs: JSON.stringify(keyValues(flags.list('build-arg'), 'build-arg', true)),
      labels: JSON.stringify(keyValues(flags.list('label'), 'label')),
      cachefrom: JSON.stringify(flags.list('cache-from')),
      memory: memory ? parseMemory(memory) : undefined,
      memswap: memswap ? (memswap === '-1' ? -1 : parseMemory(memswap)) : undefined,
      shmsize: shm ? parseMemory(shm) : undefined,
      cpushares: flags.string('cpu-shares'),
      cpusetcpus: flags.string('cpuset-cpus'),
    },
    ...(body ? { body } : {}),
    headers,
  });
  let id = '';
  const progress = flags.string('progress') ?? 'auto';
  if (!['auto', 'plain', 'tty'].includes(progress)) throw new Error(`invalid progress mode: ${progress} (auto, plain, tty)`);
  const view = progress === 'tty' || (progress === 'auto' && (cli.out as NodeJS.WriteStream).isTTY === true);
  const out = quiet ? new PassThrough().resume() : view ? new StepView(cli.out) : cli.out;
  try {
    await displayJsonMessages(res, out, {
      onAux: (aux) => {
        const v = (aux as { ID?: string }).ID;
        if (v) id = v;
      },
    });
  } catch (err) {
    if (err instanceof JsonMessageError) {
      cli.err.write(`${err.message}\n`);
      throw new StatusError(err.code && err.code > 0 ? err.code : 1);
    }
    throw err;
  }
  if (out instanceof StepView) out.finish();
  if (quiet) cli.println(id);
  const iid = flags.string('iidfile');
  if (iid) await fsp.writeFile(iid, id);
}

async function pruneCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  // docker words this prompt on one line (its warning ends with the question)
  if (!flags.bool('force') && !(await promptYes(cli.err, 'WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ')))
    return;
  const filters: Record<string, string[]> = {};
  for (const f of flags.list('filter')) {
    const i = f.indexOf('=');
    (filters[f.slice(0, i)] ??= []).push(f.slice(i + 1));
  }
  const res = await cli.client.json<{ CachesDeleted?: string[]; SpaceReclaimed?: number }>({
    method: 'POST',
    path: '/build/prune',
    query: { all: flags.bool('all'), filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined },
  });
  if (res.CachesDeleted?.length) {
    cli.println('Deleted build cache objects:');
    for (const id of res.CachesDeleted) cli.println(id.replace(/^sha256:/, ''));
    cli.println('');
  }
  cli.println(`Total reclaimed space: ${humanSize(res.SpaceReclaimed ?? 0)}`);
}

export const commands: Record<string, CommandDef> = {
  build: {
    name: 'build',
    usage: '[OPTIONS] PATH | URL | -',
    description: 'Build an image from a Dockerfile',
    aliases: ['image build', 'build', 'builder build'],
    flags: [
      { long: 'tag', short: 't', type: 'list', description: 'Name and optionally a tag in the "name:tag" format' },
      { long: 'file', short: 'f', type: 'string', description: "Name of the Dockerfile (Default is 'PATH/Dockerfile')" },
      { long: 'build-arg', type: 'list', description: 'Set build-time variables' },
      { long: 'label', type: 'list', description: 'Set metadata for an image' },
      { long: 'target', type: 'string', description: 'Set the target build stage to build.' },
      { long: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
      { long: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress the build output and print image ID on success' },
      { long: 'iidfile', type: 'string', description: 'Write the image ID to the file' },
      { long: 'network', type: 'string', description: 'Set the networking mode for the RUN instructions during build' },
      { long: 'rm', type: 'bool', description: 'Remove intermediate containers after a successful build (default true)' },
      { long: 'force-rm', type: 'bool', description: 'Always remove intermediate containers' },
      { long: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
      { long: 'cache-from', type: 'list', description: 'Images to consider as cache sources' },
      { long: 'secret', type: 'list', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")' },
      { long: 'memory', short: 'm', type: 'string', description: 'Memory limit' },
      { long: 'memory-swap', type: 'string', description: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
      { long: 'shm-size', type: 'string', description: 'Size of /dev/shm' },
      { long: 'cpu-shares', short: 'c', type: 'string', description: 'CPU shares (relative weight)' },
      { long: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
      { long: 'progress', type: 'string', description: "Set type of progress output (auto, plain, tty): tty is berth's step view, plain the classic stream" },
    ],
    args: { min: 1, max: 1 },
    run: (cli, f) => buildCommand(cli, f),
  },
  prune: {
    name: 'builder prune',
    usage: '[OPTIONS]',
    description: 'Remove build cache',
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused build cache, not just dangling ones' },
      { long: 'filter', type: 'list', description: 'Provide filter values (e.g. "until=24h")' },
      { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    ],
    args: { max: 0 },
    run: (cli, f) => pruneCommand(cli, f),
  },
};
