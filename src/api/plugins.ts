/**
 * Managed plugins (/plugins/…), translated to the plugin service (src/plugins/service.ts):
 * plugins created from a tar are listed, inspected, set and removed; privileges of a remote
 * plugin are empty, and pulling, pushing or enabling one (Berth runs no plugin processes) is
 * refused plainly.
 */
import { invalid, notImplemented } from '../lib/errors.js';
import { parseFilters } from '../lib/filters.js';
import { parseReference } from '../images/reference.js';
import { parseJSONValue } from './validate.js';
import type { Readable } from 'node:stream';
import type { PluginFilters } from '../plugins/service.js';
import type { PluginRecord } from '../plugins/store.js';
import { boolParam, intParam, sendEmpty, sendJSON, type Ctx, type Router } from './router.js';

const NO_PLUGINS = 'Berth does not support managed plugins';
const MAX_SET_BODY = 1 << 20;

/** The body of /set: a JSON array of strings, with Go's decoding messages. */
async function readStringArray(ctx: Ctx): Promise<string[]> {
  const chunks: Buffer[] = [];
  let len = 0;
  for await (const chunk of ctx.req) {
    len += (chunk as Buffer).length;
    if (len > MAX_SET_BODY) throw invalid('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw invalid('got EOF while reading request body');
  const v = parseJSONValue(text);
  if (v === null) return [];
  const kind = (x: unknown): string => (Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x === 'boolean' ? 'bool' : typeof x);
  if (!Array.isArray(v)) throw invalid(`json: cannot unmarshal ${kind(v)} into Go value of type []string`);
  for (const x of v) if (typeof x !== 'string' && x !== null) throw invalid(`json: cannot unmarshal ${kind(x)} into Go value of type string`);
  return v.map((x) => (x === null ? '' : (x as string)));
}

/** A `remote` reference checked as dockerd checks it (its parse errors are 500s there). */
function remoteRef(ctx: Ctx): string {
  const remote = ctx.query.get('remote') ?? '';
  try {
    parseReference(remote);
  } catch (err) {
    // dockerd: a 500; a client's bad reference is a 400 here (no 500 for a client error)
    throw invalid((err as Error).message.replace(/: repository name \(.*\) must be lowercase$/, ': repository name must be lowercase'));
  }
  return remote;
}

/** The plugin operations the /plugins routes call (plugins/service.ts's PluginService). */
export interface PluginOps {
  list(f: PluginFilters): PluginRecord[];
  /** A plugin by ID, ID prefix or name; throws NotFound. */
  get(idOrName: string): PluginRecord;
  /** Installs a plugin from a tar of its rootfs and config.json. */
  create(name: string, body: Readable): Promise<PluginRecord>;
  set(idOrName: string, args: string[]): Promise<void>;
  remove(idOrName: string, force: boolean): Promise<void>;
  /** Always throws: Berth runs no plugin processes. */
  enable(idOrName: string): never;
  disable(idOrName: string): void;
  /** Throws dockerd's error for a push or an upgrade of the plugin. */
  refuse(idOrName: string, what: 'push' | 'upgrade'): never;
}

export function registerPluginRoutes(r: Router, plugins: PluginOps): void {
  r.add('GET', '/plugins', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    for (const [k, v] of filters) {
      if (k !== 'enabled' && k !== 'capability') throw invalid(`Invalid filter '${k}'`);
      if (k === 'enabled' && v.some((x) => !['true', 'false', '1', '0'].includes(x))) throw invalid(`Invalid filter 'enabled=[${v.join(' ')}]'`);
    }
    const enabled = filters.get('enabled');
    const capability = filters.get('capability');
    sendJSON(
      ctx,
      200,
      plugins.list({
        ...(enabled?.length ? { enabled: ['true', '1'].includes(enabled[0]!) } : {}),
        ...(capability?.length ? { capability } : {}),
      }),
    );
  });

  r.add('GET', '/plugins/privileges', async (ctx) => {
    remoteRef(ctx);
    sendJSON(ctx, 200, []);
  });

  r.add('POST', '/plugins/pull', async (ctx) => {
    const remote = remoteRef(ctx);
    throw notImplemented(`${NO_PLUGINS}: cannot pull ${remote}`);
  });

  r.add('POST', '/plugins/create', async (ctx) => {
    await plugins.create(ctx.query.get('name') ?? '', ctx.req);
    sendEmpty(ctx, 204);
  });

  r.add('GET', '/plugins/{name*}/json', async (ctx) => {
    sendJSON(ctx, 200, plugins.get(ctx.params.name as string));
  });
  r.add('DELETE', '/plugins/{name*}', async (ctx) => {
    await plugins.remove(ctx.params.name as string, boolParam(ctx.query, 'force'));
    sendEmpty(ctx, 200);
  });
  r.add('POST', '/plugins/{name*}/enable', async (ctx) => {
    // dockerd parses the timeout before looking the plugin up
    const t = ctx.query.get('timeout') ?? '';
    if (!/^[+-]?\d+$/.test(t)) throw invalid(`strconv.Atoi: parsing ${JSON.stringify(t)}: invalid syntax`);
    intParam(ctx.query, 'timeout');
    plugins.enable(ctx.params.name as string);
  });
  r.add('POST', '/plugins/{name*}/disable', async (ctx) => {
    plugins.disable(ctx.params.name as string);
    sendEmpty(ctx, 200);
  });
  r.add('POST', '/plugins/{name*}/push', async (ctx) => {
    plugins.refuse(ctx.params.name as string, 'push');
  });
  r.add('POST', '/plugins/{name*}/set', async (ctx) => {
    const name = ctx.params.name as string;
    plugins.get(name);
    await plugins.set(name, await readStringArray(ctx));
    sendEmpty(ctx, 204);
  });
  r.add('POST', '/plugins/{name*}/upgrade', async (ctx) => {
    // the name is looked up as a reference, with the default tag
    const name = ctx.params.name as string;
    const full = /:[^/]+$/.test(name) ? name : `${name}:latest`;
    // a name that cannot be a header value (NUL, non-Latin-1 from %ff …) goes without the header
    if (/^[\t\x20-\x7e\x80-\xff]*$/.test(full)) ctx.res?.setHeader('Docker-Plugin-Name', full);
    plugins.refuse(full, 'upgrade');
  });
}
