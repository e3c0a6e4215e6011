/**
 * `docker search`: the registry's v1 search API (Docker Hub's index for unqualified terms),
 * dockerd's limit and filter rules applied, results in dockerd's shape. Connection failures keep
 * dockerd's (Go's) wording, so a client sees the same message when the index is unreachable.
 */
import { invalid, system } from '../lib/errors.js';
import { DEFAULT_DOMAIN } from '../images/reference.js';
import { endpointsFor } from './endpoint.js';
import { httpRequest, readAll } from './http.js';
import type { DistributionConfig } from './types.js';

export interface SearchResult {
  star_count: number;
  is_official: boolean;
  name: string;
  is_automated: boolean;
  description: string;
}

export interface SearchOptions {
  /** The `limit` query value as sent (dockerd parses it itself). */
  limit?: string | null;
  filters: Map<string, string[]>;
  signal?: AbortSignal;
}

const SEARCH_FILTERS = new Set(['is-automated', 'is-official', 'stars']);
const DOCKER_INDEX = 'https://index.docker.io';

/** The index a term names and the name to search for there, as dockerd splits it. */
function splitTerm(term: string): { domain: string; remote: string } {
  const i = term.indexOf('/');
  const first = i < 0 ? '' : term.slice(0, i);
  if (i >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    const domain = first === 'index.docker.io' || first === 'docker.io' ? DEFAULT_DOMAIN : first;
    return { domain, remote: term.slice(i + 1) };
  }
  return { domain: DEFAULT_DOMAIN, remote: term };
}

/** A boolean filter value as Go's strconv.ParseBool reads it. */
function parseBoolFilter(name: string, values: string[]): boolean | undefined {
  if (values.length === 0) return undefined;
  let out: boolean | undefined;
  for (const v of values) {
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) out = true;
    else if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) out = false;
    else throw invalid(`Invalid filter '${name}=[${values.join(' ')}]'`);
  }
  return out;
}

export async function searchRegistry(cfg: DistributionConfig, term: string, o: SearchOptions): Promise<SearchResult[]> {
  let limit = 25;
  if (o.limit !== undefined && o.limit !== null && o.limit !== '') {
    if (!/^[+-]?\d+$/.test(o.limit)) throw invalid(`strconv.Atoi: parsing ${JSON.stringify(o.limit)}: invalid syntax`);
    limit = Number(o.limit);
  }
  for (const k of o.filters.keys()) if (!SEARCH_FILTERS.has(k)) throw invalid(`Invalid filter '${k}'`);
  const official = parseBoolFilter('is-official', o.filters.get('is-official') ?? []);
  const automated = parseBoolFilter('is-automated', o.filters.get('is-automated') ?? []);
  let stars = 0;
  for (const v of o.filters.get('stars') ?? []) {
    if (!/^[+-]?\d+$/.test(v)) throw invalid(`Invalid filter 'stars=${v}'`);
    stars = Math.max(stars, Number(v));
  }
  if (limit < 1 || limit > 100) throw invalid(`Limit ${limit} is outside the range of [1, 100]`);

  const { domain, remote } = splitTerm(term);
  const endpoint = domain === DEFAULT_DOMAIN ? { base: DOCKER_INDEX, insecureTLS: false } : endpointsFor(domain, cfg)[0];
  if (!endpoint) throw invalid(`no endpoint for ${domain}`);
  const q = domain === DEFAULT_DOMAIN ? remote.replace(/^library\//, '') : remote;
  const url = new URL(`${endpoint.base}/v1/search?${new URLSearchParams({ q, n: String(limit) }).toString()}`);
  let body: Buffer;
  try {
    const res = await httpRequest({ method: 'GET', url, insecureTLS: endpoint.insecureTLS, timeout: 30_000, ...(o.signal ? { signal: o.signal } : {}) });
    body = await readAll(res.body);
    if (res.status !== 200) throw system(`Unexpected status code ${res.status}`);
  } catch (err) {
    throw err instanceof Error && 'category' in err ? err : system((err as Error).message);
  }
  let parsed: { results?: Array<Partial<SearchResult>> };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    throw system(`invalid search response from ${url.host}`);
  }
  const out: SearchResult[] = [];
  for (const r of parsed.results ?? []) {
    const item: SearchResult = {
      star_count: Number(r.star_count ?? 0),
      is_official: r.is_official === true,
      name: String(r.name ?? ''),
      is_automated: r.is_automated === true,
      description: String(r.description ?? ''),
    };
    if (official !== undefined && item.is_official !== official) continue;
    if (automated !== undefined && item.is_automated !== automated) continue;
    if (item.star_count < stars) continue;
    out.push(item);
  }
  return out;
}
