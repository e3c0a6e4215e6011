/** Phase timings on stderr when BERTH_TRACE=1: where the milliseconds of a request go. */
const enabled = process.env.BERTH_TRACE === '1';

export interface Span {
  mark(label: string): void;
  end(): void;
}

const noop: Span = { mark: () => undefined, end: () => undefined };

export function span(name: string): Span {
  if (!enabled) return noop;
  const t0 = performance.now();
  let last = t0;
  const parts: string[] = [];
  return {
    mark(label) {
      const now = performance.now();
      parts.push(`${label}=${(now - last).toFixed(1)}`);
      last = now;
    },
    end() {
      process.stderr.write(`trace ${name} ${(performance.now() - t0).toFixed(1)}ms ${parts.join(' ')}\n`);
    },
  };
}
