/**
 * Log driver configuration: json-file's options (`max-size`, `max-file`, …) as `--log-opt` and
 * daemon.json's `log-opts` give them, validated with dockerd's messages, and Berth's default cap.
 *
 * conmon writes the log (k8s-file format). `max-size` becomes conmon's `--log-size-max`: when a
 * write would pass it, conmon starts a new file in place of the old. With `max-file` > 1 the
 * LogRotator (containers/logrotate.ts) keeps the replaced files as `<log>.1` … `<log>.N-1`.
 */
import { invalid } from '../lib/errors.js';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/**
 * Berth's default when neither the container nor daemon.json sets a size: 20 MB × 5 files per
 * container (the limits of dockerd's `local` driver), so logs cannot fill the disk unnoticed.
 * An engine default, like dockerd's own: it is applied where the log is written and read
 * (`logLimits`), never stored in the container's LogConfig, so inspect shows what the user set
 * (`{}` when nothing), as dockerd does.
 */
export const DEFAULT_LOG_OPTS: Readonly<Record<string, string>> = Object.freeze({ 'max-size': '20m', 'max-file': '5' });

/** The options a json-file log is written with: the container's, and the default cap without a max-size. */
export function effectiveLogOpts(lc: LogConfig): Record<string, string> {
  if (lc.Type !== 'json-file' || 'max-size' in lc.Config) return lc.Config;
  return { ...DEFAULT_LOG_OPTS, ...lc.Config };
}

const JSON_FILE_OPTS = new Set(['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag', 'mode', 'max-buffer-size']);

/** go-units FromHumanSize (decimal: 10m = 10,000,000), as json-file parses max-size. */
export function fromHumanSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[bB]?$/.exec(s.trim());
  if (!m) throw invalid(`invalid size: '${s}'`);
  const mult: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
  return Math.round(Number(m[1]) * (mult[(m[2] ?? '').toLowerCase()] as number));
}

/**
 * The LogConfig a container gets: its own, or the daemon's, with the daemon's options filling
 * what a json-file config leaves out (dockerd's mergeAndVerifyLogConfig). Throws dockerd's errors.
 */
export function resolveLogConfig(own: Partial<LogConfig> | undefined, daemon: LogConfig): LogConfig {
  const type = own?.Type || daemon.Type || 'json-file';
  const config: Record<string, string> = { ...(own?.Config ?? {}) };
  if (type === daemon.Type) for (const [k, v] of Object.entries(daemon.Config)) if (!(k in config)) config[k] = v;
  if (type !== 'json-file' && type !== 'none') throw invalid(`error looking up logging plugin ${type}: plugin "${type}" not found`);
  if (type === 'json-file') {
    for (const k of Object.keys(config)) {
      if (!JSON_FILE_OPTS.has(k)) throw invalid(`unknown log opt '${k}' for json-file log driver`);
    }
    logLimits({ Type: type, Config: config });
  } else if (Object.keys(config).length > 0) {
    throw invalid(`unknown log opt '${Object.keys(config)[0]}' for none log driver`);
  }
  return { Type: type, Config: config };
}

/** The size cap (bytes; undefined = none) and number of files of a container's log. */
export function logLimits(lc: LogConfig): { maxSize?: number; maxFile: number } {
  const config = effectiveLogOpts(lc);
  let maxFile = 1;
  const mf = config['max-file'];
  if (mf !== undefined) {
    maxFile = Number(mf);
    if (!/^-?\d+$/.test(mf)) throw invalid(`failed to initialize logging driver: strconv.Atoi: parsing ${JSON.stringify(mf)}: invalid syntax`);
    if (maxFile < 1) throw invalid('failed to initialize logging driver: max-file cannot be less than 1');
  }
  const ms = config['max-size'];
  // Without max-size there is one unbounded file, whatever max-file says (as json-file).
  if (ms === undefined || ms === '-1') return { maxFile: 1 };
  let maxSize: number;
  try {
    maxSize = fromHumanSize(ms);
  } catch (err) {
    throw invalid(`failed to initialize logging driver: ${(err as Error).message}`);
  }
  if (maxSize <= 0) throw invalid('failed to initialize logging driver: max-size must be a positive number');
  return { maxSize, maxFile };
}

/** The log files of a container, oldest first: `<log>.N-1` … `<log>.1`, `<log>`. */
export function logFiles(logPath: string, maxFile: number): string[] {
  const out: string[] = [];
  for (let i = maxFile - 1; i >= 1; i--) out.push(`${logPath}.${i}`);
  out.push(logPath);
  return out;
}

/** The rotated files (oldest first) of a container's log, for readers. */
export function rotatedLogs(c: { LogPath: string; HostConfig: { LogConfig: LogConfig } }): string[] {
  let maxFile = 1;
  try {
    maxFile = logLimits(c.HostConfig.LogConfig).maxFile;
  } catch {
    maxFile = 1;
  }
  return logFiles(c.LogPath, maxFile).slice(0, -1);
}
