/**
 * The metadata instructions (ENV, LABEL, ARG, CMD, ENTRYPOINT, EXPOSE, USER, WORKDIR, VOLUME,
 * STOPSIGNAL, MAINTAINER, SHELL, ONBUILD, HEALTHCHECK): each commits a config-only step image.
 */
import * as path from 'node:path';
import type { RunConfig } from '../images/types.js';
import { invalid } from '../lib/errors.js';
import { parseError, type Instruction } from './dockerfile.js';
import { expandPairs, expandWord, expandWords } from './shell.js';
import { DEFAULT_SHELL, clone, durationNs, setEnv, stageVars, type StageState, type StepRecorder } from './stage.js';

/** What a metadata step needs of the build around it. */
export interface MetadataDeps {
  steps: StepRecorder;
  /** The Dockerfile's escape character. */
  escape: string;
  /** `--build-arg` values; the ones an ARG consumes go into `usedArgs`. */
  buildArgs: Record<string, string | null>;
  usedArgs: Set<string>;
  /** ARGs declared before the first FROM (their values as defaults for a stage's ARG). */
  globals: ReadonlyMap<string, string>;
}

async function metadata(d: MetadataDeps, st: StageState, ins: Instruction, mutate: (c: RunConfig) => void, shown?: string): Promise<void> {
  const createdBy = `/bin/sh -c #(nop)  ${shown ?? ins.text}`;
  const c = clone(st.config.config ?? {});
  mutate(c);
  const key = d.steps.key(st, [createdBy, c]);
  const cmd = ['/bin/sh', '-c', '#(nop) ', shown ?? ins.text];
  if (await d.steps.useCache(st, key, { createdBy, config: c, cmd })) return;
  st.config.config = c;
  await d.steps.commit(st, createdBy, key, undefined, cmd);
}

/** Applies a metadata instruction to the stage; any other instruction is a parse error. */
export async function applyMetadata(d: MetadataDeps, st: StageState, ins: Instruction): Promise<void> {
  const esc = d.escape;
  const vars = (): Map<string, string> => stageVars(st);
  const cmdForm = (): string[] => (ins.json ? ins.json : [...(st.config.config?.Shell ?? DEFAULT_SHELL), ins.args]);
  switch (ins.cmd) {
    case 'ENV': {
      const pairs = expandPairs(ins.args, vars(), { escape: esc, legacy: true, what: 'ENV' });
      const shown = `ENV ${pairs.map(([k, v]) => `${k}=${v ?? ''}`).join(' ')}`;
      await metadata(
        d,
        st,
        ins,
        (c) => {
          let env = c.Env ?? [];
          for (const [k, v] of pairs) env = setEnv(env, k, v ?? '');
          c.Env = env;
        },
        shown,
      );
      return;
    }
    case 'LABEL': {
      const pairs = expandPairs(ins.args, vars(), { escape: esc, legacy: true, what: 'LABEL' });
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.Labels = { ...(c.Labels ?? {}) };
          for (const [k, v] of pairs) c.Labels[k] = v ?? '';
        },
        `LABEL ${pairs.map(([k, v]) => `${k}=${v ?? ''}`).join(' ')}`,
      );
      return;
    }
    case 'ARG': {
      for (const [k, def] of expandPairs(ins.args, vars(), { escape: esc, legacy: false, what: 'ARG' })) {
        let v: string | undefined | null = def;
        if (k in d.buildArgs) {
          v = d.buildArgs[k];
          d.usedArgs.add(k);
        } else if (def === undefined && d.globals.has(k)) v = d.globals.get(k);
        if (v !== undefined && v !== null) st.args.set(k, v);
        else st.args.delete(k);
      }
      await metadata(d, st, ins, () => undefined);
      return;
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const value = cmdForm();
      await metadata(
        d,
        st,
        ins,
        (c) => {
          if (ins.cmd === 'CMD') {
            c.Cmd = value;
          } else {
            c.Entrypoint = value;
            if (!st.cmdSet) c.Cmd = null;
          }
        },
        `${ins.cmd} ${JSON.stringify(value)}`,
      );
      if (ins.cmd === 'CMD') st.cmdSet = true;
      return;
    }
    case 'EXPOSE': {
      const ports: string[] = [];
      for (const w of expandWords(ins.args, vars(), esc)) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
        if (!m) throw invalid(`Invalid containerPort: ${w}`);
        const lo = Number(m[1]);
        const hi = m[2] ? Number(m[2]) : lo;
        for (let p = lo; p <= hi; p++) ports.push(`${p}/${(m[3] ?? 'tcp').toLowerCase()}`);
      }
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
          for (const p of ports) c.ExposedPorts[p] = {};
        },
        `EXPOSE ${ports.join(' ')}`,
      );
      return;
    }
    case 'USER': {
      const user = expandWord(ins.args, vars(), esc);
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.User = user;
        },
        `USER ${user}`,
      );
      return;
    }
    case 'WORKDIR': {
      const dir = expandWord(ins.args, vars(), esc);
      const abs = path.posix.normalize(path.posix.isAbsolute(dir) ? dir : path.posix.join(st.config.config?.WorkingDir || '/', dir));
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.WorkingDir = abs;
        },
        `WORKDIR ${abs}`,
      );
      return;
    }
    case 'VOLUME': {
      const vols = ins.json ?? expandWords(ins.args, vars(), esc);
      if (vols.some((v) => v.trim() === '')) throw invalid('VOLUME specified can not be an empty string');
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.Volumes = { ...(c.Volumes ?? {}) };
          for (const v of vols) c.Volumes[v] = {};
        },
        `VOLUME [${vols.join(' ')}]`,
      );
      return;
    }
    case 'STOPSIGNAL': {
      const sig = expandWord(ins.args, vars(), esc);
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.StopSignal = sig;
        },
        `STOPSIGNAL ${sig}`,
      );
      return;
    }
    case 'MAINTAINER': {
      const who = ins.args;
      st.config.author = who;
      await metadata(d, st, ins, () => undefined, `MAINTAINER ${who}`);
      return;
    }
    case 'SHELL': {
      const sh = ins.json as string[];
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.Shell = sh;
        },
        `SHELL ${JSON.stringify(sh)}`,
      );
      return;
    }
    case 'ONBUILD': {
      const trigger = ins.args.replace(/^(\S+)/, (k) => k.toUpperCase());
      await metadata(
        d,
        st,
        ins,
        (c) => {
          c.OnBuild = [...(c.OnBuild ?? []), trigger];
        },
        `ONBUILD ${trigger}`,
      );
      return;
    }
    case 'HEALTHCHECK': {
      const hc = healthcheck(ins);
      await metadata(d, st, ins, (c) => {
        c.Healthcheck = hc;
      });
      return;
    }
    default:
      throw parseError(ins.line, `unknown instruction: ${ins.cmd}`);
  }
}

/** HEALTHCHECK's arguments and flags → the image's Healthcheck (durations in nanoseconds). */
function healthcheck(ins: Instruction): Record<string, unknown> {
  const words = ins.args.trim();
  const kind = (words.split(/\s+/)[0] ?? '').toUpperCase();
  if (kind === 'NONE') {
    if (words.split(/\s+/).length > 1) throw parseError(ins.line, 'HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw parseError(ins.line, `Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
  const rest = words.slice(3).trim();
  let json: string[] | undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v;
  } catch {
    json = undefined;
  }
  const hc: Record<string, unknown> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
  for (const [k, v] of ins.flags) {
    if (k === 'interval') hc.Interval = durationNs(v, k);
    else if (k === 'timeout') hc.Timeout = durationNs(v, k);
    else if (k === 'start-period') hc.StartPeriod = durationNs(v, k);
    else if (k === 'start-interval') hc.StartInterval = durationNs(v, k);
    else if (k === 'retries') {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw invalid(`--retries must be at least 1 (not ${v})`);
      hc.Retries = Number(v);
    } else throw parseError(ins.line, `Unknown flag: ${k}`);
  }
  return hc;
}
