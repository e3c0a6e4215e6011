/**
 * Image commands: images / image ls, import, tag, rmi / image rm, image inspect, pull, push,
 * login / logout (credentials in docker's config.json),
 * image bootstrap.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { createInterface } from 'node:readline';
import { authKeyFor, domainOfServerAddress } from '../distribution/endpoint.js';
import { parseReference as parseFullReference } from '../images/reference.js';
import type { ImageSummary } from '../client/types.js';
import { StatusError, describeError, withFormatErrors, type Cli, type CommandDef } from './common.js';
import type { ParsedFlags } from './flags.js';
import { goTimeString, humanDuration, humanSize, renderRows, truncateId } from './format.js';
import { runInspect } from './inspect.js';
import { displayJsonMessages } from './progress.js';
import { familiarName, parseReference } from './reference.js';
import { TYPE_NAME } from './template.js';
import { parseFilterFlags as parseFilters } from '../lib/filters.js';

// ---------- ls ----------

interface ImageRow {
  image: ImageSummary;
  repo: string;
  tag: string;
  digest: string;
}

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** One row per repository:tag (and digest with --digests), like docker's imageFormat. */
export function imageRows(images: readonly ImageSummary[], options: { digests: boolean }): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    if (isDangling(img)) {
      rows.push({ image: img, repo: '<none>', tag: '<none>', digest: '<none>' });
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const ref of img.RepoTags ?? []) {
      const p = parseReference(ref);
      if (p.tag === undefined || p.name === '<none>') continue;
      const list = repoTags.get(p.name) ?? [];
      list.push(p.tag);
      repoTags.set(p.name, list);
    }
    for (const ref of img.RepoDigests ?? []) {
      const p = parseReference(ref);
      if (p.digest === undefined || p.name === '<none>') continue;
      const list = repoDigests.get(p.name) ?? [];
      list.push(p.digest);
      repoDigests.set(p.name, list);
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!options.digests) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) rows.push({ image: img, repo, tag, digest: '<none>' });
        else for (const d of digests) rows.push({ image: img, repo, tag, digest: d });
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (options.digests) for (const d of digests) rows.push({ image: img, repo, tag: '<none>', digest: d });
      else rows.push({ image: img, repo, tag: '<none>', digest: '' });
    }
  }
  return rows;
}

const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  VirtualSize: 'VIRTUAL SIZE',
};

export function imageContext(r: ImageRow, options: { trunc: boolean; now?: number }): Record<string, unknown> {
  const img = r.image;
  const now = options.now ?? Date.now();
  return {
    [TYPE_NAME]: '*formatter.imageContext',
    ID: () => (options.trunc ? truncateId(img.Id) : img.Id),
    Repository: () => r.repo,
    Tag: () => r.tag,
    Digest: () => r.digest,
    CreatedSince: () => `${humanDuration(now - img.Created * 1000)} ago`,
    CreatedAt: () => goTimeString(new Date(img.Created * 1000)),
    Size: () => humanSize(img.Size),
    Containers: () => (img.Containers === -1 ? 'N/A' : String(img.Containers)),
    VirtualSize: () => humanSize(img.VirtualSize ?? img.Size, 4),
    SharedSize: () => (img.SharedSize === -1 ? 'N/A' : humanSize(img.SharedSize)),
    UniqueSize: () => (img.SharedSize === -1 ? 'N/A' : humanSize(img.Size - img.SharedSize)),
  };
}

async function lsCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const filters = parseFilters(flags.list('filter'));
  const [ref] = flags.args;
  if (ref) (filters['reference'] ??= []).push(ref);
  const digests = flags.bool('digests');
  const quiet = flags.bool('quiet');
  let format = flags.string('format') ?? '';
  if (format === '' || format === 'table') {
    if (quiet) format = '{{.ID}}';
    else if (digests) format = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
    else format = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
  }
  const images = await cli.client.imageList({ all: flags.bool('all'), filters });
  const rows = imageRows(images, { digests });
  const trunc = !flags.bool('no-trunc');
  cli.print(withFormatErrors(() => renderRows(rows, format, { toContext: (r) => imageContext(r, { trunc }), headers: IMAGE_HEADERS }), 'parsing'));
}

// ---------- import / pull ----------

async function importCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [source = '', ref] = flags.args;
  if (ref) validateReference(ref);
  let body: NodeJS.ReadStream | ReturnType<typeof createReadStream> | undefined;
  let fromSrc = source;
  if (source === '-') body = process.stdin;
  else if (!/^https?:\/\//.test(source)) {
    fromSrc = '-';
    body = createReadStream(source);
    await new Promise<void>((resolve, reject) => {
      body
        ?.once('open', () => resolve())
        .once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new Error(`open ${source}: no such file or directory`) : e));
    });
  }
  const res = await cli.client.imageImport({
    source: fromSrc,
    body,
    repo: ref,
    message: flags.string('message'),
    changes: flags.list('change'),
    platform: flags.string('platform'),
  });
  await displayJsonMessages(res, cli.out);
}

async function pullCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const name = flags.args[0] as string;
  validateReference(name);
  const p = parseReference(name);
  const allTags = flags.bool('all-tags');
  const tag = p.digest ?? p.tag ?? (allTags ? undefined : 'latest');
  if (p.tag === undefined && p.digest === undefined && !allTags && !flags.bool('quiet')) cli.println('Using default tag: latest');
  const res = await cli.client.request({
    method: 'POST',
    path: '/images/create',
    query: { fromImage: p.name, tag, platform: flags.string('platform') },
    headers: { 'X-Registry-Auth': await registryAuthHeader(name) },
  });
  await displayJsonMessages(res, flags.bool('quiet') ? new (await import('node:stream')).PassThrough().resume() : cli.out);
  cli.println(p.digest ? `${p.name}@${p.digest}` : allTags ? p.name : `${p.name}:${tag ?? 'latest'}`);
}

async function pushCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const name = flags.args[0] as string;
  validateReference(name);
  const p = parseReference(name);
  if (p.digest) throw new Error('cannot push a digest reference');
  const allTags = flags.bool('all-tags');
  if (allTags && p.tag !== undefined) throw new Error("tag can't be used with --all-tags/-a");
  const tag = p.tag ?? (allTags ? undefined : 'latest');
  if (p.tag === undefined && !allTags && !flags.bool('quiet')) cli.println('Using default tag: latest');
  const res = await cli.client.request({
    method: 'POST',
    path: `/images/${p.name}/push`,
    query: { tag },
    headers: { 'X-Registry-Auth': await registryAuthHeader(name) },
  });
  await displayJsonMessages(res, flags.bool('quiet') ? new (await import('node:stream')).PassThrough().resume() : cli.out);
  if (flags.bool('quiet')) cli.println(tag ? `${p.name}:${tag}` : p.name);
}

// ---------- registry credentials (docker's config.json) ----------

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; [k: string]: unknown }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

interface Credentials {
  username: string;
  password: string;
  identitytoken?: string;
}

/** `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), as docker keeps it. */
export function dockerConfigPath(): string {
  return nodePath.join(process.env['DOCKER_CONFIG'] || nodePath.join(os.homedir(), '.docker'), 'config.json');
}

async function readDockerConfig(): Promise<DockerConfigFile> {
  try {
    return JSON.parse(await fsp.readFile(dockerConfigPath(), 'utf8')) as DockerConfigFile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${dockerConfigPath()}: ${(e as Error).message}`);
  }
}

async function writeDockerConfig(cfg: DockerConfigFile): Promise<void> {
  const file = dockerConfigPath();
  await fsp.mkdir(nodePath.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  await fsp.rename(tmp, file);
}

function credentialHelper(cfg: DockerConfigFile, key: string): string | undefined {
  return cfg.credHelpers?.[key] ?? cfg.credsStore;
}

function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): string | undefined {
  const r = spawnSync(`docker-credential-${helper}`, [action], { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout;
}

async function credentialsFor(key: string): Promise<Credentials | undefined> {
  const cfg = await readDockerConfig();
  const helper = credentialHelper(cfg, key);
  if (helper) {
    const out = runHelper(helper, 'get', key);
    if (out) {
      const v = JSON.parse(out) as { Username?: string; Secret?: string };
      if (v.Username === '<token>') return { username: '', password: '', identitytoken: v.Secret ?? '' };
      return { username: v.Username ?? '', password: v.Secret ?? '' };
    }
  }
  const entry = cfg.auths?.[key] ?? (key === authKeyFor('docker.io') ? undefined : (cfg.auths?.[`https://${key}`] ?? cfg.auths?.[`http://${key}`]));
  if (!entry) return undefined;
  const decoded = entry.auth ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
  const i = decoded.indexOf(':');
  const creds: Credentials = { username: i >= 0 ? decoded.slice(0, i) : '', password: i >= 0 ? decoded.slice(i + 1) : '' };
  if (entry.identitytoken) creds.identitytoken = entry.identitytoken;
  return creds;
}

/** The `X-Registry-Auth` header for an image's registry (base64url JSON, as the docker CLI sends it). */
export async function registryAuthHeader(image: string): Promise<string> {
  let domain = 'docker.io';
  try {
    domain = parseFullReference(image).domain;
  } catch {
    /* the daemon reports bad references */
  }
  const key = authKeyFor(domain);
  const c = await credentialsFor(key);
  const body: Record<string, string> = c ? { username: c.username, password: c.password, serveraddress: key } : {};
  if (c?.identitytoken) body['identitytoken'] = c.identitytoken;
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

async function prompt(question: string, opts: { secret?: boolean } = {}): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  if (opts.secret) {
    const w = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    w._writeToOutput = (s: string): void => {
      if (s.includes(question)) w.output.write(question);
    };
  }
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  if (opts.secret) process.stdout.write('\n');
  return answer;
}

async function loginCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const server = flags.args[0];
  const domain = domainOfServerAddress(server);
  const key = authKeyFor(domain);
  let username = flags.string('username') ?? '';
  let password = flags.string('password') ?? '';
  if (flags.bool('password-stdin')) {
    if (password) throw new Error('--password and --password-stdin are mutually exclusive');
    if (!username) throw new Error('Must provide --username with --password-stdin');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
    password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  } else if (password) {
    cli.err.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (!username || !password) {
    if (!process.stdin.isTTY) throw new Error('Cannot perform an interactive login from a non TTY device');
    const previous = await credentialsFor(key);
    if (!username) {
      const ans = (await prompt(previous?.username ? `Username (${previous.username}): ` : 'Username: ')).trim();
      username = ans || previous?.username || '';
    }
    if (!username) throw new Error('Username is required');
    if (!password) password = await prompt('Password: ', { secret: true });
    if (!password) throw new Error('Password is required');
  }
  const res = await cli.client.json<{ Status?: string; IdentityToken?: string }>({
    method: 'POST',
    path: '/auth',
    json: { username, password, serveraddress: key },
  });
  const cfg = await readDockerConfig();
  const helper = credentialHelper(cfg, key);
  const secret = res?.IdentityToken ? { user: '<token>', secret: res.IdentityToken } : { user: username, secret: password };
  if (helper && runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: secret.user, Secret: secret.secret })) !== undefined) {
    /* stored by the helper */
  } else {
    cfg.auths ??= {};
    cfg.auths[key] = res?.IdentityToken ? { auth: '', identitytoken: res.IdentityToken } : { auth: Buffer.from(`${username}:${password}`).toString('base64') };
    await writeDockerConfig(cfg);
    if (!helper) {
      cli.err.write(
        `WARNING! Your credentials are stored unencrypted in '${dockerConfigPath()}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`,
      );
    }
  }
  cli.println(res?.Status ?? 'Login Succeeded');
}

async function logoutCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const key = authKeyFor(domainOfServerAddress(flags.args[0]));
  const cfg = await readDockerConfig();
  const helper = credentialHelper(cfg, key);
  const had = cfg.auths?.[key] !== undefined;
  if (!had && !helper) {
    cli.println(`Not logged in to ${key}`);
    return;
  }
  cli.println(`Removing login credentials for ${key}`);
  if (helper) runHelper(helper, 'erase', key);
  if (had && cfg.auths) {
    delete cfg.auths[key];
    await writeDockerConfig(cfg);
  }
}

// ---------- tag / rm / inspect ----------

export function validateReference(ref: string): void {
  try {
    checkReference(ref);
  } catch (e) {
    throw new Error(`Error parsing reference: "${ref}" is not a valid repository/tag: ${(e as Error).message}`);
  }
}

function checkReference(ref: string): void {
  const p = parseReference(ref);
  if (p.name === '' || /[A-Z]/.test(p.name)) {
    const full = p.name.includes('/') ? p.name : `library/${p.name}`;
    throw new Error(`invalid reference format: repository name (${full}) must be lowercase`);
  }
  if (
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(
      p.name.replace(/^[a-zA-Z0-9.-]+(:\d+)?\//, (h) => h.toLowerCase()),
    )
  ) {
    throw new Error('invalid reference format');
  }
  if (p.tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(p.tag)) throw new Error('invalid reference format');
}

async function tagCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [source = '', target = ''] = flags.args;
  validateReference(target);
  const p = parseReference(target);
  if (p.digest) throw new Error('refusing to create a tag with a digest reference');
  await cli.client.imageTag(source, { repo: familiarName(p.name), tag: p.tag ?? 'latest' });
}

async function rmCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const errors: string[] = [];
  for (const name of flags.args) {
    try {
      const items = await cli.client.imageRemove(name, { force: flags.bool('force'), noPrune: flags.bool('no-prune') });
      for (const it of items) {
        if (it.Untagged) cli.println(`Untagged: ${it.Untagged}`);
        if (it.Deleted) cli.println(`Deleted: ${it.Deleted}`);
      }
    } catch (e) {
      errors.push(describeError(e));
    }
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

async function inspectCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await runInspect(
    cli,
    flags.args,
    async (name) => {
      const res = await cli.client.request({ path: `/images/${encodeURIComponent(name)}/json` });
      const chunks: Buffer[] = [];
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    },
    { format: flags.string('format') },
  );
}

async function bootstrapCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const what = flags.args[0] as string;
  if (what === 'debian' || what.startsWith('debian:')) {
    const { bootstrapDebian } = await import('./bootstrap-debian.js');
    await bootstrapDebian(cli, what, { tag: flags.string('tag'), mirror: flags.string('mirror') });
    return;
  }
  const { bootstrap } = await import('./bootstrap.js');
  await bootstrap(cli, what, { tag: flags.string('tag') });
}

const def = (d: CommandDef): CommandDef => d;

export const commands: Record<string, CommandDef> = {
  ls: def({
    name: 'images',
    usage: '[OPTIONS] [REPOSITORY[:TAG]]',
    description: 'List images',
    aliases: ['image ls', 'image list', 'images'],
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Show all images (default hides intermediate images)' },
      { long: 'digests', type: 'bool', description: 'Show digests' },
      { long: 'filter', short: 'f', type: 'list', valueName: 'filter', description: 'Filter output based on conditions provided' },
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
    ],
    args: { max: 1 },
    run: (cli, f) => lsCommand(cli, f),
  }),
  import: def({
    name: 'import',
    usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
    description: 'Import the contents from a tarball to create a filesystem image',
    aliases: ['image import', 'import'],
    flags: [
      { long: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' },
      { long: 'message', short: 'm', type: 'string', description: 'Set commit message for imported image' },
      { long: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
    ],
    args: { min: 1, max: 2 },
    run: (cli, f) => importCommand(cli, f),
  }),
  pull: def({
    name: 'pull',
    usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
    description: 'Download an image from a registry',
    aliases: ['image pull', 'pull'],
    flags: [
      { long: 'all-tags', short: 'a', type: 'bool', description: 'Download all tagged images in the repository' },
      { long: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
    ],
    args: { min: 1, max: 1 },
    run: (cli, f) => pullCommand(cli, f),
  }),
  push: def({
    name: 'push',
    usage: '[OPTIONS] NAME[:TAG]',
    description: 'Upload an image to a registry',
    aliases: ['image push', 'push'],
    flags: [
      { long: 'all-tags', short: 'a', type: 'bool', description: 'Push all tags of an image to the repository' },
      { long: 'platform', type: 'string', description: 'Push a platform-specific manifest as a single-platform image (ignored: images are single-platform)' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
    ],
    args: { min: 1, max: 1 },
    run: (cli, f) => pushCommand(cli, f),
  }),
  login: def({
    name: 'login',
    usage: '[OPTIONS] [SERVER]',
    description: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
    flags: [
      { long: 'password', short: 'p', type: 'string', description: 'Password or Personal Access Token (PAT)' },
      { long: 'password-stdin', type: 'bool', description: 'Take the Password or Personal Access Token (PAT) from stdin' },
      { long: 'username', short: 'u', type: 'string', description: 'Username' },
    ],
    args: { max: 1 },
    run: (cli, f) => loginCommand(cli, f),
  }),
  logout: def({
    name: 'logout',
    usage: '[SERVER]',
    description: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
    flags: [],
    args: { max: 1 },
    run: (cli, f) => logoutCommand(cli, f),
  }),
  tag: def({
    name: 'tag',
    usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    aliases: ['image tag', 'tag'],
    flags: [],
    args: { min: 2, max: 2 },
    run: (cli, f) => tagCommand(cli, f),
  }),
  rm: def({
    name: 'rmi',
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Remove one or more images',
    aliases: ['image rm', 'image remove', 'rmi'],
    flags: [
      { long: 'force', short: 'f', type: 'bool', description: 'Force removal of the image' },
      { long: 'no-prune', type: 'bool', description: 'Do not delete untagged parents' },
    ],
    args: { min: 1 },
    run: (cli, f) => rmCommand(cli, f),
  }),
  inspect: def({
    name: 'inspect',
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Display detailed information on one or more images',
    flags: [{ long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
    args: { min: 1 },
    run: (cli, f) => inspectCommand(cli, f),
  }),
  save: def({
    name: 'save',
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    aliases: ['image save', 'save'],
    flags: [
      { long: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' },
      { long: 'platform', type: 'string', description: 'Save only the given platform variant (ignored: images are single-platform)' },
    ],
    args: { min: 1 },
    run: async (cli, f) => (await import('./imageops.js')).saveCommand(cli, f),
  }),
  load: def({
    name: 'load',
    usage: '[OPTIONS]',
    description: 'Load an image from a tar archive or STDIN',
    aliases: ['image load', 'load'],
    flags: [
      { long: 'input', short: 'i', type: 'string', description: 'Read from tar archive file, instead of STDIN' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
      { long: 'platform', type: 'string', description: 'Load only the given platform variant (ignored: images are single-platform)' },
    ],
    args: { max: 0 },
    run: async (cli, f) => (await import('./imageops.js')).loadCommand(cli, f),
  }),
  history: def({
    name: 'history',
    usage: '[OPTIONS] IMAGE',
    description: 'Show the history of an image',
    aliases: ['image history', 'history'],
    flags: [
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'human', short: 'H', type: 'bool', description: 'Print sizes and dates in human readable format', defaultValue: true },
      { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
    ],
    args: { min: 1, max: 1 },
    run: async (cli, f) => (await import('./imageops.js')).historyCommand(cli, f),
  }),
  prune: def({
    name: 'prune',
    usage: '[OPTIONS]',
    description: 'Remove unused images',
    aliases: ['image prune'],
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused images, not just dangling ones' },
      { long: 'filter', type: 'list', valueName: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>")' },
      { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    ],
    args: { max: 0 },
    run: async (cli, f) => (await import('./imageops.js')).imagePruneCommand(cli, f),
  }),
  bootstrap: def({
    name: 'bootstrap',
    usage: '[OPTIONS] busybox|debian[:SUITE]',
    description: 'Build a base image (busybox, or Debian with debootstrap) locally and import it',
    flags: [
      { long: 'tag', short: 't', type: 'string', description: 'Name and tag of the image (default "busybox:latest" or "debian:SUITE")' },
      { long: 'mirror', type: 'string', description: 'Debian mirror for debootstrap (default "http://deb.debian.org/debian", or $BERTH_DEBIAN_MIRROR)' },
    ],
    args: { min: 1, max: 1 },
    run: (cli, f) => bootstrapCommand(cli, f),
  }),
};
