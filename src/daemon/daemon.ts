/**
 * The one place where berthd is wired together: stores, runtime, services, API. Everything
 * else receives what it needs through its constructor.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { ContentStore } from '../content/store.js';
import { Leases } from '../content/leases.js';
import { LayerStore } from '../snapshots/layers.js';
import { OverlaySnapshotter } from '../snapshots/overlay.js';
import { ImageStore } from '../images/store.js';
import { ImageService } from '../images/service.js';
import { DistributionService, distributionConfigFrom, distributionRoot } from '../distribution/service.js';
import { ContainerStore } from '../containers/store.js';
import { ContainerService } from '../containers/service.js';
import { Recovery } from '../containers/recovery.js';
import { ContainerMonitors } from '../containers/monitors.js';
import { KeyedLock } from '../containers/locks.js';
import { PauseControl } from '../containers/pause.js';
import { containerCgroupsPath, SpecInputs } from '../containers/specinputs.js';
import { publishContainerEvent } from '../containers/events.js';
import { top } from '../containers/top.js';
import { pruneContainers } from '../containers/prune.js';
import type { Container } from '../containers/types.js';
import { ExitWatcher } from '../runtime/monitor.js';
import { Runc } from '../runtime/runc.js';
import { detectCgroups } from '../runtime/cgroups.js';
import { EventBus } from '../events/bus.js';
import { readJSON, writeJSONAtomic } from '../lib/atomic.js';
import { API_VERSION, MIN_API_VERSION, Router, splitUpgradeBody } from '../api/router.js';
import { messageOf } from '../lib/errors.js';
import { loadValidators } from '../api/validate.js';
import { registerContainerRoutes } from '../api/containers.js';
import { registerExecRoutes } from '../api/exec.js';
import { ExecService } from '../containers/exec.js';
import { HealthMonitor } from '../containers/health.js';
import { LogRotator } from '../containers/logrotate.js';
import { resolveLogConfig } from '../runtime/logconfig.js';
import { CommitService } from '../containers/commit.js';
import { registerCommitRoutes } from '../api/commit.js';
import { registerStatsRoutes } from '../api/stats.js';
import { registerImageRoutes } from '../api/images.js';
import { registerBuildRoutes } from '../api/build.js';
import { registerGrpcRoutes } from '../api/grpc.js';
import { registerSessionRoutes } from '../api/session.js';
import { controlMethods } from '../buildkit/control.js';
import { SessionManager } from '../buildkit/sessions.js';
import { Solver } from '../buildkit/solver.js';
import { SessionBuilds } from '../buildkit/sessionbuild.js';
import { Builder } from '../build/builder.js';
import { parseBytes } from '../lib/units.js';
import { registerNetworkRoutes } from '../api/networks.js';
import { NetworkService, networkRoot } from '../network/service.js';
import { VolumeStore } from '../volumes/store.js';
import { VolumeService } from '../volumes/service.js';
import { MountManager } from '../volumes/mounts.js';
import { registerVolumeRoutes } from '../api/volumes.js';
import { registerSwarmRoutes } from '../api/swarm.js';
import { registerPluginRoutes } from '../api/plugins.js';
import { PluginStore } from '../plugins/store.js';
import { PluginService } from '../plugins/service.js';
import { registerDiskUsageRoutes, registerSystemRoutes } from '../api/system.js';
import { BERTH_VERSION } from '../system/version.js';
import { SystemInfoService } from '../system/info.js';
import { DiskUsage } from '../system/diskusage.js';
import { imageDiskUsage } from '../images/view.js';
import { ContainerQueries } from '../containers/queries.js';
import { startCri, type Cri } from '../cri/index.js';
import { guardCriOwned } from '../cri/guard.js';
import { sampleStats } from '../containers/stats.js';
import { netnsFiles, parseStreamAddress, startCriStreaming, type StreamingServer } from '../cri/streaming/index.js';
import type { DaemonConfig } from './config.js';
import { answerPlainHttp, checkTcpHost, infoWarnings, serverTls } from './tls.js';
import type { Duplex } from 'node:stream';
import { socketAnswers } from '../lib/sockets.js';

export interface Daemon {
  close(): Promise<void>;
}

const INIT_CANDIDATES = ['/usr/bin/tini-static', '/usr/bin/docker-init', '/usr/bin/catatonit'];

export async function startDaemon(cfg: DaemonConfig, log: (msg: string) => void): Promise<Daemon> {
  // The remote API's security is decided before anything else starts: a refused TCP host or
  // unreadable TLS files stop berthd here.
  const tlsServer = serverTls(cfg);
  for (const host of cfg.hosts.filter((h) => h.startsWith('tcp://'))) {
    for (const w of checkTcpHost(cfg, host).warnings) log(`WARNING: ${w}`);
  }
  const dataRoot = path.resolve(cfg.dataRoot);
  const execRoot = path.resolve(cfg.execRoot);
  await fs.mkdir(dataRoot, { recursive: true, mode: 0o711 });
  await fs.mkdir(execRoot, { recursive: true, mode: 0o700 });

  const engineId = await daemonId(dataRoot);
  const events = new EventBus();
  const leases = new Leases();
  const content = new ContentStore(path.join(dataRoot, 'content'));
  const layers = new LayerStore(path.join(dataRoot, 'layers'));
  const images = new ImageStore(path.join(dataRoot, 'images'), content, layers);
  const store = new ContainerStore(path.join(dataRoot, 'containers'));
  const snapshots = new OverlaySnapshotter({ layers, content });
  const runc = new Runc({ binary: cfg.runtime, root: path.join(execRoot, 'runc') });
  const exits = new ExitWatcher(path.join(execRoot, 'exits'));
  await content.init();
  await layers.init();
  await images.init();
  await store.init();
  const volumeStore = new VolumeStore(path.join(dataRoot, 'volumes'));
  await volumeStore.init();
  const volumes = new VolumeService({ store: volumeStore, events });
  const volumeMounts = new MountManager(volumes);
  const plugins = new PluginService({ store: new PluginStore(path.join(dataRoot, 'plugins')), dockerVersion: BERTH_VERSION });
  await plugins.init();

  const initBinary = INIT_CANDIDATES.find((p) => existsSync(p));
  // Late-bound: the network service asks for containers, the container service for networking.
  let listContainers: () => Container[] = () => [];
  const networks = new NetworkService({
    root: networkRoot(dataRoot),
    bridge: cfg.bridge,
    bip: cfg.bip,
    containers: () => listContainers(),
    emit: (action, n, attrs) => events.publish('network', action, n.Id, { name: n.Name, ...attrs }),
  });
  await networks.init();
  const logDefaults = resolveLogConfig(undefined, {
    Type: cfg.logDriver || 'json-file',
    Config: cfg.logOpts ?? {},
  });
  const specInputs = new SpecInputs({
    get: (ref) => store.get(ref),
    find: (ref) => store.find(ref),
    linkEnv: (c) => networks.linkEnv(c),
    cgroupParent: cfg.cgroupParent,
    runDir: (id) => path.join(execRoot, 'containers', id),
    ...(initBinary ? { initBinary } : {}),
  });
  const publishContainer = (c: Container, action: string, extra: Record<string, string> = {}): void => publishContainerEvent(events, c, action, extra);
  const monitors = new ContainerMonitors({
    execRoot,
    exitDir: exits.dir,
    runtime: { binary: runc.opts.binary, args: runc.globalArgs() },
    cgroupParent: cfg.cgroupParent,
  });
  const locks = new KeyedLock();
  const containers = new ContainerService({
    store,
    images,
    mounts: snapshots,
    runc,
    exits,
    events,
    execRoot,
    cgroupParent: cfg.cgroupParent,
    volumeMounts,
    network: networks,
    spec: specInputs,
    monitors,
    locks,
    logDefaults,
  });
  listContainers = () => containers.list();
  const pauses = new PauseControl({
    get: (ref) => containers.get(ref),
    locks,
    runc,
    store,
    runDir: (id) => monitors.runDir(id),
    publish: (c, action) => publishContainer(c, action),
  });
  const imageService = new ImageService({
    images,
    content,
    layers,
    events,
    usersOf: (id) => containers.usersOf(id).map((c) => ({ id: c.ID, running: c.State.Running })),
    layerDirs: (chainIds) => snapshots.lowers(chainIds),
    leases,
  });

  const distribution = new DistributionService({
    root: distributionRoot(dataRoot),
    content,
    layers,
    images,
    events,
    leases,
    config: distributionConfigFrom(cfg),
  });
  await distribution.init();

  volumes.setUsers((name) =>
    containers
      .list()
      .filter((c) => Object.values(c.MountPoints ?? {}).some((m) => m.Type === 'volume' && m.Name === name))
      .map((c) => c.ID),
  );
  const execs = new ExecService(
    {
      get: (ref) => containers.get(ref),
      execProcess: (c, o) => specInputs.execProcess(c, o),
      runtime: { binary: runc.opts.binary, args: runc.globalArgs(), socketDir: path.join(execRoot, 'sock') },
      publish: publishContainer,
    },
    execRoot,
  );
  const health = new HealthMonitor({
    events,
    find: (id) => store.find(id),
    probe: (c, cmd, o) => execs.probe(c.ID, cmd, o),
    save: (c) => containers.saveRecord(c),
    publish: (c, action) => publishContainer(c, action),
  });

  const logRotator = new LogRotator({ events, find: (id) => store.find(id) });

  await new Recovery({
    lifecycle: containers,
    monitors,
    pauses,
    store,
    images,
    runc,
    mounts: snapshots,
    exits,
    volumeMounts,
    cgroupParent: cfg.cgroupParent,
    socketDir: path.join(execRoot, 'sock'),
  }).recover();
  // Layers and blobs of pulls, loads, imports and builds a crash interrupted belong to no image:
  // collected now, before anything holds a lease (images used by containers are kept).
  await imageService.gc.collect().catch((err: unknown) => process.emitWarning(`start-up garbage collection: ${(err as Error).message}`));
  for (const c of containers.list()) if (c.State.Running) volumeMounts.adopt(c);
  await volumes.reconcile();
  await networks.reconcile();
  await exits.start();
  health.resume(containers.list());
  logRotator.resume(containers.list());

  const components = { runc: '', runcCommit: '', conmon: '' };
  void componentVersions(cfg.runtime).then((v) => Object.assign(components, v));

  const router = new Router();
  const systemInfo = new SystemInfoService({
    id: engineId,
    dataRoot,
    debug: cfg.logLevel === 'debug',
    cgroupVersion: String(detectCgroups().version),
    runcPath: cfg.runtime,
    ...(initBinary ? { initPath: initBinary } : {}),
    components,
    warnings: infoWarnings(cfg),
    containers: () => containers.list(),
    images: () => images.list(),
    apiVersion: API_VERSION,
    minApiVersion: MIN_API_VERSION,
  });
  registerSystemRoutes(router, {
    info: (o) => systemInfo.info(o),
    version: () => systemInfo.version(),
    events,
  });
  registerVolumeRoutes(router, volumes);
  registerSwarmRoutes(router);
  registerPluginRoutes(router, plugins);
  const containerViews = new ContainerQueries({ containers, images, network: networks });
  // The Docker API leaves CRI's pods and containers to the kubelet (cri/guard.ts); CRI starts below.
  let criOwns: (id: string) => boolean = () => false;
  const findContainer = (ref: string): Container | undefined => store.find(ref);
  registerContainerRoutes(router, {
    containers: guardCriOwned(containers, findContainer, (id) => criOwns(id)),
    views: containerViews,
    pauses: guardCriOwned(pauses, findContainer, (id) => criOwns(id)),
    prune: (filters) =>
      pruneContainers(
        {
          list: () => containers.list().filter((c) => !criOwns(c.ID)),
          remove: (id) => containers.remove(id, {}),
          upperDir: (c) => containers.layersOf(c).upper,
          events,
        },
        filters,
      ),
    top: (ref, psArgs) => top({ get: (r) => containers.get(r), pids: (id) => runc.ps(id) }, ref, psArgs),
    publish: publishContainer,
  });
  registerNetworkRoutes(router, { networks, containers });
  registerExecRoutes(router, execs);
  registerStatsRoutes(router, {
    get: (ref) => containers.get(ref),
    find: (id) => store.find(id),
    cgroupsPath: (c) => containerCgroupsPath(c, cfg.cgroupParent),
  });
  registerCommitRoutes(router, new CommitService({ snapshots, images, containers, pauses, imageService, publish: publishContainer }));
  registerImageRoutes(router, {
    images: imageService,
    distribution,
  });

  const buildWork = path.join(execRoot, 'build');
  const builder = new Builder({
    images: imageService,
    containers,
    layers,
    snapshots,
    distribution,
    workDir: buildWork,
    cacheMountDir: path.join(dataRoot, 'builder', 'cache-mounts'),
    diskWorkDir: path.join(dataRoot, 'builder', 'tmp'),
    keepStorage: parseBytes(cfg.builderKeepStorage ?? '10GB'),
  });
  await builder.init();
  // BuildKit's API (buildx's docker driver, and `/build?version=2` for API clients) on the same builder and cache.
  const buildkitSessions = new SessionManager();
  const sessionBuilds = new SessionBuilds({ sessions: buildkitSessions, builder, images: imageService, workDir: buildWork });
  registerBuildRoutes(router, { builder, workDir: buildWork, sessionBuilds });
  registerSessionRoutes(router, buildkitSessions);
  const controlDeps = { cache: builder, version: BERTH_VERSION, keepStorage: parseBytes(cfg.builderKeepStorage ?? '10GB') };
  const solver = new Solver({ sessions: buildkitSessions, images: imageService, snapshots, control: controlDeps, builder, workDir: buildWork });
  registerGrpcRoutes(router, {
    methods: new Map([...controlMethods(controlDeps), ...solver.methods()]),
    ...(cfg.logLevel === 'debug' ? { log } : {}),
  });
  registerDiskUsageRoutes(
    router,
    new DiskUsage({
      volumes: async () => (await volumes.usage()) as unknown as Array<Record<string, unknown>>,
      buildCache: () => builder.cacheUsage(),
      images: () => imageDiskUsage(imageService),
      containers: () => containerViews.diskUsage(),
    }),
  );

  const server = http.createServer({ keepAlive: true });
  const commonHeaders = (res: http.ServerResponse): void => {
    res.setHeader('Api-Version', '1.50');
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    // BuildKit's API is served (/grpc, /session): the docker CLI with buildx builds through it.
    res.setHeader('Builder-Version', '2');
    res.setHeader('Server', `Berth/${BERTH_VERSION} (linux)`);
  };
  server.on('request', (req, res) => {
    commonHeaders(res);
    if (cfg.logLevel === 'debug') log(`${req.method} ${req.url}`);
    void router.dispatch({ req, res, socket: req.socket, head: Buffer.alloc(0), upgrade: false });
  });
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (cfg.logLevel === 'debug') log(`${req.method} ${req.url} (upgrade)`);
    // Any route may be asked with Upgrade headers; as on dockerd, the ones that do not hijack answer
    // a plain HTTP response on the connection (then close it), so none is left unanswered.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as net.Socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    commonHeaders(res);
    void splitUpgradeBody(req, socket, head)
      .then(({ body, rest }) => router.dispatch({ req, res, socket, head: rest, body, upgrade: true }))
      .catch((err: unknown) => {
        if (socket.writable)
          socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ message: messageOf(err) })}\n`);
        else socket.destroy();
      });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  const listeners: net.Server[] = [];
  for (const host of cfg.hosts) {
    if (host.startsWith('unix://')) {
      const file = host.slice('unix://'.length);
      await fs.mkdir(path.dirname(file), { recursive: true });
      if (await socketAnswers(file)) throw new Error(`another daemon is already listening on ${file}`);
      await fs.rm(file, { force: true });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(file, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await fs.chmod(file, 0o660);
      log(`API listen on ${file}`);
    } else if (host.startsWith('tcp://')) {
      const u = new URL(host.replace('tcp://', 'http://'));
      // TLS hosts: Node's tls does the handshake (and, with --tlsverify, refuses clients
      // without a certificate signed by the CA before any HTTP is read).
      const tcp = tlsServer ? https.createServer({ ...tlsServer.options, keepAlive: true, allowHalfOpen: true }) : http.createServer({ keepAlive: true });
      tcp.on('request', (req, res) => server.emit('request', req, res));
      tcp.on('upgrade', (req, socket, head) => server.emit('upgrade', req, socket, head));
      tcp.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      });
      if (tlsServer) {
        tcp.on('connection', (raw: net.Socket) => {
          // Known before the TLS socket is destroyed (it no longer has an address then).
          const peer = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
          (raw as net.Socket & { berthPeer?: string }).berthPeer = peer;
        });
        tcp.on('tlsClientError', (err: Error, s: { _parent?: { berthPeer?: string }; authorizationError?: string }) => {
          if (answerPlainHttp(err, s)) return;
          // A refused client certificate shows as authorizationError (e.g. CERT_SIGNATURE_FAILURE,
          // INVALID_PURPOSE for a certificate without clientAuth), the socket then just closes.
          if (cfg.logLevel === 'debug') log(`TLS handshake with ${s._parent?.berthPeer ?? '?'} failed: ${s.authorizationError ?? err.message}`);
        });
      }
      const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1');
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(Number(u.port), hostname, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      listeners.push(tcp);
      log(`API listen on ${u.host}${tlsServer ? (tlsServer.verifyClients ? ' (TLS, client certificates verified)' : ' (TLS, clients not verified)') : ''}`);
    }
  }
  // Kubernetes' CRI (runtime.v1) on its own UNIX socket, on the same services (docs/cri.md).
  let cri: Cri | undefined;
  let streaming: StreamingServer | undefined;
  if (cfg.cri) {
    // Under the exec root by default: every berthd with its own roots has its own CRI socket.
    const criSocket = path.resolve(cfg.criSocket || path.join(execRoot, 'cri.sock'));
    if (cfg.hosts.some((h) => h.startsWith('unix://') && path.resolve(h.slice(7)) === criSocket))
      throw new Error(`--cri-socket ${criSocket} is also an API host (-H)`);
    const criPulls = distribution.withConfig({ registryHosts: criRegistryHosts(cfg.criRegistryMirrors) });
    // Exec/Attach/PortForward's URLs: an HTTP server on --cri-stream-address (src/cri/streaming/).
    const options = parseStreamAddress(cfg.criStreamAddress);
    streaming = await startCriStreaming({ execs, containers, netns: netnsFiles(execRoot), options });
    log(`CRI streaming server on ${streaming.baseUrl}`);
    cri = await startCri({
      socket: criSocket,
      runtimeName: 'berth',
      runtimeVersion: BERTH_VERSION,
      dataRoot,
      execRoot,
      cniConfDir: cfg.cniConfDir,
      cniBinDir: cfg.cniBinDir,
      berth: {
        containers: {
          create: (req, o) => containers.create(req, o),
          start: (ref) => containers.start(ref),
          stop: (ref, o) => containers.stop(ref, o),
          remove: (ref, o) => containers.remove(ref, o),
          find: (ref) => store.find(ref),
          get: (ref) => containers.get(ref),
          saveRecord: (c) => containers.saveRecord(c),
          update: (ref, body) => containers.update(ref, body),
        },
        images: {
          list: () => images.list(),
          find: (ref) => images.find(ref),
          tagsOf: (id) => images.tagsOf(id),
          digestsOf: (id) => images.digestsOf(id),
          hasChildren: (id) => images.hasChildren(id),
          pull: async (ref, auth) => (await criPulls.preparePull(ref, { auth })).run({ write: () => undefined }),
          remove: async (id) => void (await imageService.removeNames(id)),
          importTar: (src, o) => imageService.import(src, o),
        },
        execSync: (id, cmd, o) => execs.execSync(id, cmd, o),
        stats: (c) => sampleStats(c, containerCgroupsPath(c, cfg.cgroupParent)),
        reopenLog: (c) => monitors.reopenLog(c),
      },
      streaming,
      ...(cfg.logLevel === 'debug' ? { log } : {}),
    });
    const owner = cri;
    criOwns = (id) => owner.owns(id);
    log(`CRI listen on ${cri.socket}`);
  }
  log(`berthd ${BERTH_VERSION} ready (data-root ${dataRoot}, exec-root ${execRoot})`);
  // The request-body validators load a moment after the daemon answers (api/validate.ts), so
  // neither start-up nor the first requests wait for them; a body that comes first loads its own.
  setTimeout(() => void loadValidators().catch((err: unknown) => log(`cannot load the request validators: ${String(err)}`)), 1500).unref();

  return {
    async close() {
      await cri?.stop();
      await streaming?.stop();
      containers.shutdown();
      networks.close();
      buildkitSessions.closeAll();
      health.close();
      logRotator.close();
      exits.stop();
      for (const l of listeners) {
        l.close();
        (l as http.Server).closeAllConnections?.();
      }
      server.close();
      server.closeAllConnections();
      for (const host of cfg.hosts) {
        if (host.startsWith('unix://')) await fs.rm(host.slice(7), { force: true });
      }
    },
  };
}

/** `--cri-registry-mirror host=URL` entries as the distribution config's registry hosts. */
function criRegistryHosts(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const eq = e.indexOf('=');
    if (eq <= 0) throw new Error(`invalid --cri-registry-mirror ${e}: expected host=URL`);
    out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

function versionOf(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(cmd, args, (err, out) => resolve(err ? '' : out)));
}

async function componentVersions(runtime: string): Promise<{ runc: string; runcCommit: string; conmon: string }> {
  const [r, c] = await Promise.all([versionOf(runtime, ['--version']), versionOf('conmon', ['--version'])]);
  return {
    runc: /runc version (\S+)/.exec(r)?.[1] ?? '',
    runcCommit: /commit: (\S+)/.exec(r)?.[1] ?? '',
    conmon: /conmon version (\S+)/.exec(c)?.[1] ?? '',
  };
}

async function daemonId(dataRoot: string): Promise<string> {
  const file = path.join(dataRoot, 'engine-id.json');
  const existing = await readJSON<{ id: string }>(file).catch(() => undefined);
  if (existing?.id) return existing.id;
  const id = randomUUID();
  await writeJSONAtomic(file, { id }, 0o644);
  return id;
}
