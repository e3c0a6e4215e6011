// The loader's errors: a bad compose or env file is the caller's fault (InvalidParameter in
// lib/errors.ts's categories, so a daemon-side or dashboard caller maps it like any bad input).
import { BerthError } from '../../lib/errors.js';

/** a file that cannot be used; the message reads `<file>:<line>: <field>: <what>` */
export class ComposeFileError extends BerthError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    what: string,
  ) {
    super('InvalidParameter', `${file}${line > 0 ? `:${line}` : ''}: ${field === '' ? '' : `${field}: `}${what}`);
  }
}

/** a value that cannot be interpolated: a malformed expression or a required variable without a value */
export class InterpolationError extends BerthError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super('InvalidParameter', path === '' ? message : `${message} (at ${path})`);
  }
}

/** a field's path as errors print it: `services.web.ports[0]` */
export function fieldPath(segments: ReadonlyArray<string | number>): string {
  return segments
    .map((p) => (typeof p === 'number' || /^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
}
