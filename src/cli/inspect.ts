/**
 * `inspect` output: the raw JSON the daemon sent, re-indented like Go's json.Indent with
 * four spaces, or each object through a Go template (-f).
 */
import type { Cli } from './common.js';
import { StatusError, describeError, parseFormatTemplate } from './common.js';
import { TemplateError } from './template.js';

/** Go's json.Indent(dst, src, "", "    "): re-indents JSON text without re-encoding values. */
export function jsonIndent(src: string, indent = '    '): string {
  let out = '';
  let depth = 0;
  let inString = false;
  let escape = false;
  let needIndent = false;
  const newline = (): string => `\n${indent.repeat(depth)}`;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (inString) {
      out += c;
      if (escape) escape = false;
      else if (c === '\\') escape = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      out += newline();
    }
    switch (c) {
      case '"':
        inString = true;
        out += c;
        break;
      case '{':
      case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += c + newline();
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) {
          // empty object or array
          needIndent = false;
        } else {
          depth--;
          out += newline();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

export interface InspectTarget {
  name: string;
  /** resolves to the raw JSON text of the object, or throws (404 → not found) */
  fetch: (name: string) => Promise<string>;
}

/**
 * Inspects each name, printing either an indented JSON array or one template result per
 * object. Errors are printed after the output; any error makes the exit status 1.
 */
export async function runInspect(
  cli: Cli,
  names: readonly string[],
  fetch: (name: string) => Promise<string>,
  options: { format?: string | undefined; notFound?: (name: string, err: unknown) => string },
): Promise<void> {
  const raws: string[] = [];
  const errors: string[] = [];
  const results = await Promise.allSettled(names.map((n) => fetch(n)));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') raws.push(r.value);
    else errors.push(options.notFound ? options.notFound(names[i] as string, r.reason) : describeError(r.reason));
  });
  const format = options.format;
  if (format === undefined || format === '') {
    if (raws.length === 0) cli.println('[]');
    else cli.println(jsonIndent(`[${raws.join(',')}]`));
  } else if (format === 'json') {
    for (const r of raws) cli.println(JSON.stringify(JSON.parse(r)));
  } else {
    const tmpl = parseFormatTemplate(format, { missingKey: 'error' });
    let out = '';
    for (const r of raws) {
      try {
        out += `${tmpl.execute(JSON.parse(r) as unknown)}\n`;
      } catch (e) {
        if (e instanceof TemplateError) {
          cli.print(out === '' ? '\n' : out);
          throw new StatusError(1, `template parsing error: ${e.message}`);
        }
        throw e;
      }
    }
    cli.print(out === '' ? '\n' : out);
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}
