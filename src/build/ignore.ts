/**
 * `.dockerignore` rules, as Docker applies them: one pattern a line, `#` comments, `!` for
 * exceptions, Go filepath.Match syntax (`*`, `?`, `[…]`, `\`) plus `**` for any number of
 * directories; paths are cleaned and relative to the context root; a path is excluded when the
 * last pattern matching it, or one of its parent directories, is not an exception.
 */

export interface IgnoreRule {
  pattern: string;
  exclusion: boolean;
  re: RegExp;
}

/** Cleans like Go's filepath.Clean, relative, without a leading slash. */
export function cleanRel(p: string): string {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out.join('/');
}

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) {
      i++;
      re += (pattern[i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

export function parseIgnore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    let exclusion = false;
    if (line.startsWith('!')) {
      exclusion = true;
      line = line.slice(1).trim();
    }
    const pattern = cleanRel(line);
    if (pattern === '') continue;
    rules.push({ pattern, exclusion, re: compile(pattern) });
  }
  return rules;
}

/** Whether `rel` (a cleaned context-relative path) is excluded by the rules. */
export function isIgnored(rules: readonly IgnoreRule[], rel: string): boolean {
  if (rules.length === 0 || rel === '') return false;
  const parts = rel.split('/');
  let ignored = false;
  for (const r of rules) {
    let match = false;
    for (let n = 1; n <= parts.length && !match; n++) match = r.re.test(parts.slice(0, n).join('/'));
    if (match) ignored = !r.exclusion;
  }
  return ignored;
}

/** Whether any exception could re-include something below a directory that is itself ignored. */
export function hasExceptions(rules: readonly IgnoreRule[]): boolean {
  return rules.some((r) => r.exclusion);
}
