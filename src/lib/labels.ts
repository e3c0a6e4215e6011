/** Docker's `label=` filter: every wanted `key` is present, every wanted `key=value` matches. */
export function matchLabels(labels: Record<string, string>, wanted: readonly string[]): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return Object.prototype.hasOwnProperty.call(labels, w);
    return labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}
