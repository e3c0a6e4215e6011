/** A small SVG line of the last values (CPU %, memory), redrawn as stats arrive. */
const NS = 'http://www.w3.org/2000/svg';

export class Sparkline {
  readonly el: SVGSVGElement;
  private readonly line: SVGPolylineElement;
  private readonly values: number[] = [];

  constructor(
    private readonly max: () => number,
    color: string,
    private readonly width = 90,
    private readonly height = 22,
    private readonly keep = 30,
  ) {
    this.el = document.createElementNS(NS, 'svg');
    this.el.setAttribute('class', 'spark');
    this.el.setAttribute('width', String(width));
    this.el.setAttribute('height', String(height));
    this.el.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const base = document.createElementNS(NS, 'line');
    for (const [k, v] of Object.entries({ x1: '0', x2: String(width), y1: String(height - 0.5), y2: String(height - 0.5), stroke: '#e2e8f0' }))
      base.setAttribute(k, v);
    this.line = document.createElementNS(NS, 'polyline');
    this.line.setAttribute('fill', 'none');
    this.line.setAttribute('stroke', color);
    this.line.setAttribute('stroke-width', '1.5');
    this.el.append(base, this.line);
  }

  push(v: number): void {
    this.values.push(v);
    if (this.values.length > this.keep) this.values.shift();
    const top = Math.max(this.max(), ...this.values, 1e-9);
    // the first points spread over the width; from `keep` on the line scrolls
    const step = this.width / (Math.min(this.keep, Math.max(this.values.length, 8)) - 1);
    const pts = this.values.map((x, i) => `${(i * step).toFixed(1)},${(this.height - 1 - (x / top) * (this.height - 3)).toFixed(1)}`);
    this.line.setAttribute('points', pts.join(' '));
  }
}
