/**
 * Dockerfile → stages of instructions. Line structure (continuations, the escape directive,
 * comments, flags, heredocs) comes from `dockerfile-ast`; this module turns its tree into the
 * builder's plain instruction records and checks what Docker checks at parse time, with
 * "dockerfile parse error line N: …" messages (dockerd 20.10's text).
 */
import { DockerfileParser } from 'dockerfile-ast';
import { invalid } from '../lib/errors.js';

export interface Heredoc {
  name: string;
  content: string;
  /** `<<"EOF"` / `<<'EOF'`: no variable expansion in the body. */
  quoted: boolean;
}

export interface Instruction {
  /** Upper-case keyword. */
  cmd: string;
  /** 1-based line of the keyword. */
  line: number;
  /** `--name=value` flags, in order (a flag without a value has ''). */
  flags: Array<[string, string]>;
  /** The arguments after the flags, continuations joined (the first line only when there are heredocs). */
  args: string;
  /** JSON (exec) form, when the arguments are a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
  /** The instruction as written (continuations joined), for messages and `Step N/M`. */
  text: string;
}

export interface Stage {
  index: number;
  /** `FROM … AS name`, lower-cased. */
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  escape: string;
  /** ARGs before the first FROM. */
  globalArgs: Instruction[];
  stages: Stage[];
}

const KNOWN = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);

/** Instructions whose arguments may be a JSON array. */
const JSON_FORMS = new Set(['CMD', 'ENTRYPOINT', 'RUN', 'SHELL', 'VOLUME', 'ADD', 'COPY']);

export function parseError(line: number, msg: string): Error {
  return invalid(`dockerfile parse error line ${line}: ${msg}`);
}

function parseJSONArray(s: string): string[] | undefined {
  const t = s.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* not JSON: shell form */
  }
  return undefined;
}

function offsetOf(lines: string[], pos: { line: number; character: number }): number {
  let off = 0;
  for (let i = 0; i < pos.line; i++) off += (lines[i] as string).length + 1;
  return off + pos.character;
}

/** Splits a single logical line (no heredocs) into its flags and the rest. */
function splitFlags(s: string): { flags: Array<[string, string]>; rest: string } {
  const flags: Array<[string, string]> = [];
  let rest = s.trimStart();
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=("[^"]*"|\S*))?(\s+|$)/.exec(rest);
    if (!m) break;
    let v = m[2] ?? '';
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    flags.push([m[1] as string, v]);
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** Parses a single instruction line (as ONBUILD triggers hold them). */
export function parseInstructionText(text: string, line: number): Instruction {
  const df = parseDockerfile(`${text}\n`, { allowNoStage: true });
  const ins = df.globalArgs[0] ?? df.stages[0]?.from;
  if (!ins) throw parseError(line, `empty instruction`);
  return { ...ins, line };
}

export function parseDockerfile(text: string, o: { allowNoStage?: boolean } = {}): ParsedDockerfile {
  const df = DockerfileParser.parse(text);
  const escape = df.getEscapeCharacter();
  const docLines = text.split('\n');
  const out: ParsedDockerfile = { escape, globalArgs: [], stages: [] };
  const all: Instruction[] = [];
  for (const ins of df.getInstructions()) {
    const line = ins.getRange().start.line + 1;
    const cmd = ins.getKeyword().toUpperCase();
    if (!KNOWN.has(cmd)) throw parseError(line, `unknown instruction: ${ins.getInstruction()}`);
    const raw = ins.getArgumentsContent() ?? '';
    const heredocs: Heredoc[] = [];
    const docs =
      (
        ins as unknown as {
          getHeredocs?: () => Array<{
            getName(): string;
            getContentRange(): { start: { line: number; character: number }; end: { line: number; character: number } } | null;
          }>;
        }
      ).getHeredocs?.() ?? [];
    let body = raw;
    if (docs.length > 0) body = raw.split('\n')[0] as string;
    const libFlags = (ins as unknown as { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> }).getFlags?.() ?? [];
    const split = splitFlags(body);
    const flags: Array<[string, string]> = [...libFlags.map((f): [string, string] => [f.getName(), f.getValue() ?? '']), ...split.flags];
    const rest = split.rest;
    for (const h of docs) {
      const r = h.getContentRange();
      let content = r ? text.slice(offsetOf(docLines, r.start), offsetOf(docLines, r.end)) : '';
      if (content !== '' && !content.endsWith('\n')) content += '\n';
      const m = new RegExp(`<<(-?)(["']?)${h.getName().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\2`).exec(body);
      if (m?.[1] === '-') content = content.replace(/^\t+/gm, '');
      heredocs.push({ name: h.getName(), content, quoted: (m?.[2] ?? '') !== '' });
    }
    const rec: Instruction = {
      cmd,
      line,
      flags,
      args: rest.trim(),
      heredocs,
      text: `${cmd} ${body.trim()}`.trim(),
    };
    if (JSON_FORMS.has(cmd) && heredocs.length === 0) {
      const json = parseJSONArray(rest);
      if (json) rec.json = json;
    }
    validate(rec);
    all.push(rec);
  }
  let stage: Stage | undefined;
  for (const rec of all) {
    if (rec.cmd === 'FROM') {
      const words = rec.args.split(/\s+/).filter(Boolean);
      if (words.length !== 1 && !(words.length === 3 && (words[1] as string).toLowerCase() === 'as')) {
        throw parseError(rec.line, 'FROM requires either one or three arguments');
      }
      stage = { index: out.stages.length, from: rec, instructions: [] };
      if (words.length === 3) {
        const name = (words[2] as string).toLowerCase();
        if (!/^[a-z][a-z0-9-_.]*$/.test(name))
          throw parseError(rec.line, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
        if (out.stages.some((s) => s.name === name)) throw parseError(rec.line, `duplicate name ${name}`);
        stage.name = name;
      }
      out.stages.push(stage);
    } else if (!stage) {
      if (rec.cmd !== 'ARG' && !o.allowNoStage) throw parseError(rec.line, `no build stage in current context`);
      if (rec.cmd === 'ARG') out.globalArgs.push(rec);
      else out.globalArgs.push(rec);
    } else stage.instructions.push(rec);
  }
  if (out.stages.length === 0 && !o.allowNoStage) throw invalid('the Dockerfile (Dockerfile) cannot be empty');
  return out;
}

function validate(rec: Instruction): void {
  const noArgs = rec.args === '' && rec.heredocs.length === 0;
  switch (rec.cmd) {
    case 'FROM':
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
    case 'ARG':
    case 'ENV':
    case 'LABEL':
    case 'EXPOSE':
    case 'VOLUME':
    case 'ONBUILD':
    case 'HEALTHCHECK':
    case 'SHELL':
      if (noArgs) throw parseError(rec.line, `${rec.cmd} requires at least one argument`);
      break;
    case 'ADD':
    case 'COPY': {
      if (rec.heredocs.length === 0) {
        const n = rec.json ? rec.json.length : rec.args.split(/\s+/).filter(Boolean).length;
        if (n < 2) throw parseError(rec.line, `${rec.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
      }
      break;
    }
    case 'RUN':
      if (noArgs) throw parseError(rec.line, `RUN requires at least one argument`);
      break;
    default:
      break;
  }
  if (rec.cmd === 'SHELL' && !rec.json) throw parseError(rec.line, 'SHELL requires the arguments to be in JSON form');
  if (rec.cmd === 'ONBUILD') {
    const kw = (rec.args.split(/\s+/)[0] ?? '').toUpperCase();
    if (kw === 'ONBUILD') throw parseError(rec.line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (kw === 'FROM' || kw === 'MAINTAINER') throw parseError(rec.line, `${kw} isn't allowed as an ONBUILD trigger`);
  }
}
