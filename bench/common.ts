/** Small helpers every benchmark script shares: output lines and the median of samples. */

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
