/** Docker's detach keys, shared by the daemon (which watches attach input) and the CLI. */

/** Docker's detach-keys syntax (`ctrl-p,ctrl-q`, `a`, `ctrl-@`) as bytes. */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const p = part.trim();
    if (p.length === 1) {
      out.push(p.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(p);
    if (!m) throw new Error(`Invalid detach keys (${spec}) provided`);
    const ch = (m[1] as string).toLowerCase();
    if (ch >= 'a' && ch <= 'z') out.push(ch.charCodeAt(0) - 96);
    else if (ch === '@') out.push(0);
    else if (ch === '[') out.push(27);
    else if (ch === '\\') out.push(28);
    else if (ch === ']') out.push(29);
    else if (ch === '^') out.push(30);
    else if (ch === '_') out.push(31);
    else throw new Error(`Invalid detach keys (${spec}) provided`);
  }
  return Buffer.from(out);
}
