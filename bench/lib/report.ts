/**
 * What the benchmark scripts share for their figures: report lines on stdout, the median of
 * samples, a series' summary, the ms/MB/ratio formats, and bench/run.ts's table rows.
 */

/** Writes one line of the report to stdout. */
export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** The median (the mean of the two middle samples for an even count); NaN for no samples. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The samples of one figure (rounded to 0.1 ms for results.json) and their summary. */
export interface Series {
  label: string;
  ms: number[];
  median: number;
  min: number;
  max: number;
  mean: number;
}

export function series(label: string, ms: number[]): Series {
  return {
    label,
    ms: ms.map((x) => Math.round(x * 10) / 10),
    median: median(ms),
    min: Math.min(...ms),
    max: Math.max(...ms),
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}

export const fmtMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
export const fmtMb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
export const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '—' : `${(a / b).toFixed(2)}`;

/** One row of bench/run.ts's markdown table. */
export interface Row {
  figure: string;
  berthd: string;
  dockerd: string;
  ratio: string;
}
