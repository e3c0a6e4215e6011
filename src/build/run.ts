/**
 * RUN steps in real containers (same isolation, limits and networking as `run`; the rootfs
 * overlay mounted `volatile`), output streamed from conmon's attach socket, the container's
 * upper dir committed as the step's layer; `RUN --mount=` cache, bind, tmpfs and secret mounts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { CreateRequest } from '../containers/create.js';
import type { PreStartHook } from '../containers/start.js';
import type { Container, HostConfig } from '../containers/types.js';
import { invalid } from '../lib/errors.js';
import { shortId } from '../lib/ids.js';
import { hostPathInRoot } from '../lib/rootfs.js';
import { span } from '../lib/trace.js';
import { parseError, type Instruction, type Stage } from './dockerfile.js';
import { BuildStepError, type BuildOptions, type BuildSink } from './request.js';
import { DEFAULT_SHELL, envMap, type Cleanups, type StageRoots, type StageState, type StepRecorder } from './stage.js';

/** The containers a RUN step makes, runs and removes (ContainerService satisfies it). */
export interface StepContainers {
  create(req: CreateRequest, opts: { volatileRootfs?: boolean; buildStep?: boolean }): Promise<Container>;
  onNextStart(id: string, hook: PreStartHook): unknown;
  wait(ref: string, condition: 'next-exit'): Promise<{ StatusCode: number }>;
  start(ref: string): Promise<void>;
  get(ref: string): Container;
  layersOf(c: Container): { upper: string };
  remove(ref: string, o: { force: boolean }): Promise<unknown>;
  /** Keeps a failed (or `rm=false`) step's container as an ordinary stopped container. */
  keepBuildStep(id: string): Promise<void>;
}

export interface RunStepDeps {
  containers: StepContainers;
  steps: StepRecorder;
  roots: StageRoots;
  out: Pick<BuildSink, 'stream'>;
  options: Pick<BuildOptions, 'networkMode' | 'hostConfig' | 'remove' | 'forceRemove' | 'secrets' | 'ssh'>;
  /** The build context directory (RUN --mount=type=bind without from=). */
  contextDir: string;
  /** Scratch space for secrets (under the exec root). */
  workDir: string;
  /** Persistent `RUN --mount=type=cache` directories. */
  cacheMountDir: string;
}

export async function runStep(d: RunStepDeps, st: StageState, ins: Instruction, s: Stage): Promise<void> {
  if (!st.image) throw invalid(`RUN needs a base image with a shell: ${ins.text} in a stage FROM scratch with no files`);
  let argv: string[];
  if (ins.json) argv = ins.json;
  else {
    let script = ins.args;
    // A heredoc body goes to the shell with the command line, which then reads it as one.
    for (const h of ins.heredocs) script += `\n${h.content}${h.name}`;
    const only = ins.heredocs.length === 1 && /^<<-?["']?\w+["']?$/.test(ins.args.trim());
    if (only) script = (ins.heredocs[0] as { content: string }).content;
    argv = [...(st.config.config?.Shell ?? DEFAULT_SHELL), script];
  }
  const argEnv = [...st.args.entries()].filter(([k]) => !envMap(st.config.config?.Env ?? []).has(k)).sort(([a], [b]) => a.localeCompare(b));
  const createdBy = `${argEnv.length > 0 ? `|${argEnv.length} ${argEnv.map(([k, v]) => `${k}=${v}`).join(' ')} ` : ''}${argv.join(' ')}`;
  const mountSpecs = ins.flags.filter(([k]) => k === 'mount').map(([, v]) => v);
  let network = d.options.networkMode;
  for (const [k, v] of ins.flags) {
    if (k === 'network') {
      if (!['none', 'default', 'host'].includes(v)) throw parseError(ins.line, `unsupported network mode ${v}`);
      network = v;
    } else if (k !== 'mount' && k !== 'security') throw parseError(ins.line, `Unknown flag: ${k}`);
  }
  const key = d.steps.key(st, ['RUN', createdBy, mountSpecs, network ?? '']);
  const stepCmd = argEnv.length > 0 ? [`|${argEnv.length}`, ...argEnv.map(([k, v]) => `${k}=${v}`), ...argv] : argv;
  if (await d.steps.useCache(st, key, { createdBy, cmd: stepCmd })) return;
  const cleanups: Cleanups = [];
  const hostConfig: Partial<HostConfig> = { ...d.options.hostConfig, NetworkMode: network && network !== 'default' ? network : 'default' };
  try {
    const mounts = await runMounts(d, mountSpecs, s, cleanups, ins);
    if (mounts.binds.length > 0) (hostConfig as Record<string, unknown>).Mounts = mounts.binds;
    if (Object.keys(mounts.tmpfs).length > 0) hostConfig.Tmpfs = mounts.tmpfs;
    const env = [...(st.config.config?.Env ?? []), ...argEnv.map(([k, v]) => `${k}=${v}`), ...mounts.env];
    const t = span('build-run');
    const c = await d.containers.create(
      {
        Config: {
          Image: st.image.id,
          Cmd: argv,
          Entrypoint: [''],
          Env: env,
          User: st.config.config?.User ?? '',
          WorkingDir: st.config.config?.WorkingDir ?? '',
          AttachStdout: true,
          AttachStderr: true,
        },
        HostConfig: hostConfig,
      },
      // dpkg and friends fsync every file; a step's upper dir becomes a layer or is thrown away.
      // A build step: removed at start if a crash interrupts the build.
      { volatileRootfs: true, buildStep: true },
    );
    d.out.stream(` ---> Running in ${shortId(c.ID)}\n`);
    let code = -1;
    let removeIt = d.options.forceRemove;
    try {
      const done = new Promise<void>((resolve) => {
        d.containers.onNextStart(c.ID, (sock) => {
          if (!sock) return resolve();
          sock.on('data', (buf: Buffer) => {
            if (buf.length <= 1) return;
            // conmon's attach socket: byte 3 is stderr, which dockerd's classic builder sends
            // in red (its stderr writer wraps each write in \x1b[91m … \x1b[0m).
            const text = buf.subarray(1).toString('utf8');
            d.out.stream(buf[0] === 3 ? `\x1b[91m${text}\x1b[0m` : text);
          });
          sock.on('close', () => resolve());
          sock.on('end', () => resolve());
          sock.on('error', () => resolve());
        });
      });
      t.mark('create');
      const waited = d.containers.wait(c.ID, 'next-exit');
      await d.containers.start(c.ID);
      t.mark('start');
      code = (await waited).StatusCode;
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
      t.mark('run');
      if (code !== 0) {
        throw new BuildStepError(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
      }
      removeIt = d.options.remove || d.options.forceRemove;
      const upper = d.containers.layersOf(d.containers.get(c.ID)).upper;
      // The container goes next: its upper dir can become the layer's directory.
      const layer = await d.steps.commitLayer(
        upper,
        st,
        await mountArtifacts(upper, [...mounts.binds.map((b) => String(b.Target)), ...Object.keys(mounts.tmpfs)]),
        removeIt,
      );
      t.mark('layer');
      if (removeIt) d.out.stream(`Removing intermediate container ${shortId(c.ID)}\n`);
      await d.steps.commit(st, createdBy, key, layer, stepCmd);
      t.mark('image');
    } finally {
      if (removeIt || code === -1) await d.containers.remove(c.ID, { force: true }).catch(() => undefined);
      else await d.containers.keepBuildStep(c.ID).catch(() => undefined);
      t.mark('remove');
      t.end();
    }
  } finally {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
  }
}

/** `RUN --mount=…`: cache and bind mounts as bind mounts, tmpfs, secrets as read-only files. */
async function runMounts(
  d: RunStepDeps,
  specs: string[],
  s: Stage,
  cleanups: Cleanups,
  ins: Instruction,
): Promise<{ binds: Array<Record<string, unknown>>; tmpfs: Record<string, string>; env: string[] }> {
  const binds: Array<Record<string, unknown>> = [];
  const tmpfs: Record<string, string> = {};
  const env: string[] = [];
  let sshIndex = 0;
  for (const spec of specs) {
    const kv = new Map<string, string>();
    for (const part of spec.split(',')) {
      const i = part.indexOf('=');
      kv.set(i < 0 ? part : part.slice(0, i), i < 0 ? 'true' : part.slice(i + 1));
    }
    const type = kv.get('type') ?? 'bind';
    const target = kv.get('target') ?? kv.get('dst') ?? kv.get('destination');
    const ro = kv.get('ro') === 'true' || kv.get('readonly') === 'true';
    if (type === 'cache') {
      if (!target) throw parseError(ins.line, 'mount type=cache requires a target');
      const id = kv.get('id') ?? target;
      const dir = path.join(d.cacheMountDir, createHash('sha256').update(id).digest('hex').slice(0, 32));
      await fs.mkdir(dir, { recursive: true, mode: 0o755 });
      const uid = Number(kv.get('uid') ?? 0);
      const gid = Number(kv.get('gid') ?? 0);
      await fs.chown(dir, uid, gid);
      if (kv.has('mode')) await fs.chmod(dir, parseInt(kv.get('mode') as string, 8));
      binds.push({ Type: 'bind', Source: dir, Target: target, ReadOnly: ro });
    } else if (type === 'tmpfs') {
      if (!target) throw parseError(ins.line, 'mount type=tmpfs requires a target');
      tmpfs[target] = kv.has('size') ? `size=${kv.get('size')}` : '';
    } else if (type === 'secret') {
      const id = kv.get('id') ?? path.posix.basename(target ?? '');
      const content = d.options.secrets[id];
      if (!content) {
        if (kv.get('required') === 'true') throw invalid(`secret ${id}: not found`);
        continue;
      }
      const dir = path.join(d.workDir, `secret-${randomBytes(8).toString('hex')}`);
      await fs.mkdir(dir, { mode: 0o700 });
      cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'secret');
      await fs.writeFile(file, content, { mode: Number.parseInt(kv.get('mode') ?? '0400', 8) });
      await fs.chown(file, Number(kv.get('uid') ?? 0), Number(kv.get('gid') ?? 0));
      binds.push({ Type: 'bind', Source: file, Target: target ?? `/run/secrets/${id}`, ReadOnly: true });
    } else if (type === 'bind') {
      if (!target) throw parseError(ins.line, 'mount type=bind requires a target');
      const src = kv.get('source') ?? kv.get('src') ?? '/';
      const from = kv.get('from');
      const rw = kv.get('rw') === 'true' || kv.get('readwrite') === 'true';
      let host: string;
      if (from) {
        const root = await d.roots.readRoot(from, s, cleanups);
        host = hostPathInRoot(root, src);
      } else host = hostPathInRoot(d.contextDir, src);
      binds.push({ Type: 'bind', Source: host, Target: target, ReadOnly: !rw });
    } else if (type === 'ssh') {
      // BuildKit's defaults: id "default", /run/buildkit/ssh_agent.N, SSH_AUTH_SOCK for the first
      const id = kv.get('id') ?? 'default';
      const dst = target ?? `/run/buildkit/ssh_agent.${sshIndex}`;
      const agent = await d.options.ssh?.open(id);
      if (!agent) {
        if (kv.get('required') === 'true') throw invalid(`no SSH key ${JSON.stringify(id)} forwarded from the client`);
        continue;
      }
      cleanups.push(() => agent.close());
      binds.push({ Type: 'bind', Source: agent.socket, Target: dst, ReadOnly: false });
      if (sshIndex === 0) env.push(`SSH_AUTH_SOCK=${dst}`);
      sshIndex++;
    } else throw parseError(ins.line, `unsupported mount type ${type}`);
  }
  return { binds, tmpfs, env };
}

/**
 * What runc created in the upper dir only to mount a RUN's --mount targets over: the targets
 * themselves and the parent directories that hold nothing else. Never part of the layer.
 */
async function mountArtifacts(upper: string, targets: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of targets) {
    let rel = path.posix.normalize(t).replace(/^\/+/, '');
    if (rel === '' || rel === '.') continue;
    out.add(rel);
    for (rel = path.posix.dirname(rel); rel !== '.' && rel !== ''; rel = path.posix.dirname(rel)) {
      const entries = await fs.readdir(path.join(upper, rel)).catch(() => undefined);
      if (!entries || entries.some((e) => !out.has(`${rel}/${e}`))) break;
      out.add(rel);
    }
  }
  return out;
}
