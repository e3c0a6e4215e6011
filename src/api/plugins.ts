/**
 * Managed plugins (/plugins/…). Berth has none and installs none: the list is empty, a named
 * plugin is never found (dockerd's 404 text), privileges of a remote plugin are empty, and the
 * calls that would fetch or build a plugin are refused plainly.
 */
import { BerthError, invalid, notFound, notImplemented, system } from '../lib/errors.js';
import { parseFilters } from '../containers/view.js';
import { parseReference } from '../images/reference.js';
import { intParam, sendJSON, type Ctx, type Handler, type Router } from './router.js';

const NO_PLUGINS = 'Berth does not support managed plugins';

const missing = (name: string): BerthError => notFound(`plugin ${JSON.stringify(name)} not found`);

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

const byName: Handler = async (ctx) => {
  throw missing(ctx.params.name as string);
};

export function registerPluginRoutes(r: Router): void {
  r.add('GET', '/plugins', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    for (const [k, v] of filters) {
      if (k !== 'enabled' && k !== 'capability') throw invalid(`Invalid filter '${k}'`);
      if (k === 'enabled' && v.some((x) => !['true', 'false', '1', '0'].includes(x))) throw invalid(`Invalid filter 'enabled=[${v.join(' ')}]'`);
    }
    sendJSON(ctx, 200, []);
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
    ctx.req.resume();
    throw notImplemented(`${NO_PLUGINS}: cannot create ${ctx.query.get('name') ?? ''}`);
  });

  r.add('GET', '/plugins/{name*}/json', byName);
  r.add('DELETE', '/plugins/{name*}', byName);
  r.add('POST', '/plugins/{name*}/enable', async (ctx) => {
    // dockerd parses the timeout before looking the plugin up
    const t = ctx.query.get('timeout') ?? '';
    if (!/^[+-]?\d+$/.test(t)) throw invalid(`strconv.Atoi: parsing ${JSON.stringify(t)}: invalid syntax`);
    intParam(ctx.query, 'timeout');
    throw missing(ctx.params.name as string);
  });
  r.add('POST', '/plugins/{name*}/disable', byName);
  r.add('POST', '/plugins/{name*}/push', byName);
  r.add('POST', '/plugins/{name*}/set', byName);
  r.add('POST', '/plugins/{name*}/upgrade', async (ctx) => {
    // the name is looked up as a reference, with the default tag
    const name = ctx.params.name as string;
    const full = /:[^/]+$/.test(name) ? name : `${name}:latest`;
    // a name that cannot be a header value (NUL, non-Latin-1 from %ff …) goes without the header
    if (/^[\t\x20-\x7e\x80-\xff]*$/.test(full)) ctx.res?.setHeader('Docker-Plugin-Name', full);
    throw missing(/:[^/]+$/.test(name) ? name : `${name}:latest`);
  });
}
