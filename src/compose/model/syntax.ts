// The Compose Specification's short syntaxes as docker compose v2 expands them: ports
// ("[IP:][HOST:]CONTAINER[/PROTO]", ranges), volumes ("SRC:DST[:OPTS]"), sizes ("512m", 1024-based
// like docker's RAMInBytes) and command strings (split into words as a shell would, quotes and
// backslashes honoured, no expansion — not `sh -c`; words end at an unquoted ; | & < > as go-shellwords has it).

/** a port in the long syntax, before defaults (protocol, mode) are filled */
export interface PortSpec {
  target: number;
  published?: string;
  host_ip?: string;
  protocol?: string;
}

/** parse a short-syntax port; ranges expand to one entry per container port */
export function parsePortShort(spec: string | number): PortSpec[] | string {
  const text = String(spec).trim();
  let rest = text;
  let protocol: string | undefined;
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(protocol)) return `invalid proto: ${protocol}`;
  }
  let ip: string | undefined;
  let host: string | undefined;
  let container: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') return `invalid IP address: ${rest}`;
    ip = rest.slice(1, close);
    const parts = rest.slice(close + 2).split(':');
    if (parts.length !== 2) return `invalid port: ${text}`;
    host = parts[0];
    container = parts[1] ?? '';
  } else {
    const parts = rest.split(':');
    container = parts[parts.length - 1] ?? '';
    if (parts.length >= 2) host = parts[parts.length - 2];
    if (parts.length >= 3) ip = parts.slice(0, parts.length - 2).join(':');
  }
  const targets = range(container);
  if (targets === undefined) return `invalid containerPort: ${container}`;
  const published = host === undefined || host === '' ? undefined : range(host);
  if (host !== undefined && host !== '' && published === undefined) return `invalid hostPort: ${host}`;
  const base = (target: number, pub?: string): PortSpec => ({
    target,
    ...(pub === undefined ? {} : { published: pub }),
    ...(ip === undefined || ip === '' ? {} : { host_ip: ip }),
    ...(protocol === undefined ? {} : { protocol }),
  });
  if (published === undefined) return targets.map((t) => base(t));
  if (targets.length === 1) {
    const t = targets[0] as number;
    return [base(t, published.length === 1 ? String(published[0]) : `${published[0]}-${published[published.length - 1]}`)];
  }
  if (published.length !== targets.length) return `invalid port range: ${text}: host and container ranges differ`;
  return targets.map((t, i) => base(t, String(published[i])));
}

function range(text: string): number[] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  const out: number[] = [];
  for (let p = start; p <= end; p++) out.push(p);
  return out;
}

/** a volume in the long syntax as a plain tree (the raw model's canonical form) */
export type VolumeSpec = Record<string, unknown> & { type: string; target: string; source?: string };

const PROPAGATION = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);
const CONSISTENCY = new Set(['cached', 'delegated', 'consistent']);

/** whether a short-syntax volume source is a host path (bind) rather than a volume name */
export function isHostPath(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
}

/** parse "SRC:DST[:OPTS]" or "DST" (anonymous volume) */
export function parseVolumeShort(spec: string): VolumeSpec | string {
  const parts = spec.split(':');
  if (parts.some((p, i) => p === '' && i < 2)) return `invalid spec: ${spec}: empty section between colons`;
  if (parts.length === 1) return { type: 'volume', target: parts[0] as string };
  if (parts.length > 3) return `invalid spec: ${spec}: too many colons`;
  const [source, target, opts] = parts as [string, string, string | undefined];
  const bind = isHostPath(source);
  const out: VolumeSpec = { type: bind ? 'bind' : 'volume', source, target };
  const bindOpts: Record<string, unknown> = bind ? { create_host_path: true } : {};
  const volOpts: Record<string, unknown> = {};
  for (const opt of opts === undefined || opts === '' ? [] : opts.split(',')) {
    if (opt === 'ro') out.read_only = true;
    else if (opt === 'rw') out.read_only = false;
    else if (opt === 'z' || opt === 'Z') bindOpts.selinux = opt;
    else if (opt === 'nocopy') volOpts.nocopy = true;
    else if (PROPAGATION.has(opt)) bindOpts.propagation = opt;
    else if (CONSISTENCY.has(opt)) out.consistency = opt;
    else return `invalid spec: ${spec}: unknown option ${opt}`;
  }
  if (out.read_only === false) delete out.read_only;
  if (Object.keys(bindOpts).length > 0) out.bind = bindOpts;
  if (Object.keys(volOpts).length > 0) out.volume = volOpts;
  return out;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "512m", "1.5g", "100kb", 1024 → bytes; undefined when not a size */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(-?\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v.trim());
  if (m === null) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  return Math.trunc(Number(m[1]) * (UNITS[unit] ?? 1));
}

/**
 * split a command string into words as compose v2 does (it uses go-shellwords): blanks separate,
 * '…' is literal, "…" groups, a backslash escapes the next character outside single quotes, `…`
 * and $(…) are kept as written (not run), and the words end at the first unquoted ; & | < >
 * (a word of digits before > is dropped with it, as a redirection). Errors as "invalid command line string".
 */
export function splitShellWords(text: string): string[] | string {
  const words: string[] = [];
  let buf = '';
  let got = false;
  let escaped = false;
  let single = false;
  let double = false;
  let back = false;
  let dollar = false;
  const bad = `invalid command line string: ${JSON.stringify(text)}`;
  loop: for (const c of text) {
    if (escaped) {
      buf += c;
      escaped = false;
      got = true;
      continue;
    }
    if (c === '\\') {
      if (single) buf += c;
      else escaped = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (single || double || back || dollar) buf += c;
      else if (got) {
        words.push(buf);
        buf = '';
        got = false;
      }
      continue;
    }
    switch (c) {
      case '`':
        if (!single && !double && !dollar) back = !back;
        break;
      case ')':
        if (!single && !double && !back && dollar) dollar = false;
        break;
      case '(':
        if (!single && !double && !back) {
          if (dollar || !buf.endsWith('$')) return bad;
          dollar = true;
          buf += c;
          continue;
        }
        break;
      case '"':
        if (!single && !dollar) {
          if (double) got = true;
          double = !double;
          continue;
        }
        break;
      case "'":
        if (!double && !dollar) {
          if (single) got = true;
          single = !single;
          continue;
        }
        break;
      case ';':
      case '&':
      case '|':
      case '<':
      case '>':
        if (!single && !double && !back && !dollar) {
          if (c === '>' && /^\d/.test(buf)) got = false;
          break loop;
        }
        break;
    }
    got = true;
    buf += c;
  }
  if (escaped || single || double || back || dollar) return bad;
  if (got) words.push(buf);
  return words;
}
