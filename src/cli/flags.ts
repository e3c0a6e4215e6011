/**
 * A small docker-style (pflag) flag parser: `-d`, `--name x`, `--name=x`, `-e=x`, `-ex`,
 * combined short booleans `-it`, repeatable list flags, `--` ends the flags, and optionally
 * flags stop at the first positional (run/create/exec) so the container command keeps its own.
 */

export type FlagType = 'bool' | 'string' | 'list' | 'int';

export interface FlagSpec {
  long: string;
  short?: string;
  type: FlagType;
  description?: string;
  /** shown in help, e.g. "string", "list", "int" */
  valueName?: string;
  defaultValue?: string | number | boolean;
  hidden?: boolean;
}

export type FlagValue = string | number | boolean | string[];

/** A flag error: the CLI prints it with the usage and exits 125, as docker does. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

export interface ParseOptions {
  /** false: the first positional ends flag parsing (docker run/create/exec). Default true. */
  interspersed?: boolean;
}

export class ParsedFlags {
  readonly args: string[];
  private readonly values: Map<string, FlagValue>;
  private readonly specs: Map<string, FlagSpec>;

  constructor(values: Map<string, FlagValue>, args: string[], specs: FlagSpec[]) {
    this.values = values;
    this.args = args;
    this.specs = new Map(specs.map((s) => [s.long, s]));
  }

  /** Whether the flag was given on the command line. */
  has(name: string): boolean {
    return this.values.has(name);
  }

  bool(name: string): boolean {
    const v = this.values.get(name);
    if (v === undefined) return this.specs.get(name)?.defaultValue === true;
    return v === true;
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    if (v === undefined) {
      const d = this.specs.get(name)?.defaultValue;
      return d === undefined ? undefined : String(d);
    }
    return Array.isArray(v) ? v[v.length - 1] : String(v);
  }

  int(name: string): number | undefined {
    const v = this.values.get(name);
    if (v === undefined) {
      const d = this.specs.get(name)?.defaultValue;
      return typeof d === 'number' ? d : undefined;
    }
    return typeof v === 'number' ? v : Number(v);
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    if (v === undefined) return [];
    return Array.isArray(v) ? v : [String(v)];
  }
}

const BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function flagDisplay(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.long}` : `--${spec.long}`;
}

function convert(spec: FlagSpec, raw: string): FlagValue {
  switch (spec.type) {
    case 'bool':
      if (BOOL_TRUE.has(raw)) return true;
      if (BOOL_FALSE.has(raw)) return false;
      throw new FlagError(`invalid argument "${raw}" for "${flagDisplay(spec)}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw.trim())) {
        throw new FlagError(`invalid argument "${raw}" for "${flagDisplay(spec)}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
      }
      return Number.parseInt(raw, 10);
    }
    default:
      return raw;
  }
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], options: ParseOptions = {}): ParsedFlags {
  const interspersed = options.interspersed ?? true;
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byLong.set(s.long, s);
    if (s.short) byShort.set(s.short, s);
  }
  const values = new Map<string, FlagValue>();
  const args: string[] = [];

  const set = (spec: FlagSpec, raw: string | true): void => {
    const v: FlagValue = raw === true ? true : convert(spec, raw);
    if (spec.type === 'list') {
      const prev = values.get(spec.long);
      const arr = Array.isArray(prev) ? prev : [];
      arr.push(String(v));
      values.set(spec.long, arr);
    } else {
      values.set(spec.long, v);
    }
  };

  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byLong.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(spec, a.slice(eq + 1));
      else if (spec.type === 'bool') set(spec, true);
      else {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
        set(spec, argv[++i] as string);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      const shorts = a.slice(1);
      for (let j = 0; j < shorts.length; j++) {
        const c = shorts[j] as string;
        const spec = byShort.get(c);
        if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
        const rest = shorts.slice(j + 1);
        if (rest.startsWith('=')) {
          set(spec, rest.slice(1));
          break;
        }
        if (spec.type === 'bool') {
          set(spec, true);
          continue;
        }
        if (rest.length > 0) {
          set(spec, rest);
          break;
        }
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
        set(spec, argv[++i] as string);
        break;
      }
      continue;
    }
    // positional
    args.push(a);
    if (!interspersed) {
      i++;
      break;
    }
  }
  for (; i < argv.length; i++) args.push(argv[i] as string);
  return new ParsedFlags(values, args, [...specs]);
}

/** Renders the "Options:" section of a command's help, docker-style. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const rows: Array<[string, string]> = [];
  for (const s of specs) {
    if (s.hidden) continue;
    let left = s.short ? `  -${s.short}, --${s.long}` : `      --${s.long}`;
    if (s.type !== 'bool') left += ` ${s.valueName ?? (s.type === 'list' ? 'list' : s.type)}`;
    let desc = s.description ?? '';
    if (s.defaultValue !== undefined && s.defaultValue !== false && s.defaultValue !== '') {
      desc += ` (default ${typeof s.defaultValue === 'string' ? `"${s.defaultValue}"` : String(s.defaultValue)})`;
    }
    rows.push([left, desc]);
  }
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `${l.padEnd(width)}   ${d}`.trimEnd()).join('\n');
}
