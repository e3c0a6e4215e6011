/**
 * bin/docker-compose: `berth compose` as a docker CLI plugin. The docker CLI asks
 * `docker-compose docker-cli-plugin-metadata` for the plugin's metadata, then runs
 * `docker-compose [docker's global flags] compose ARGS` with DOCKER_HOST and the rest of its
 * environment; run by hand (`docker-compose up`) it is compose directly.
 */
import { runEntry } from './common.js';
import { main } from './main.js';
import { composeProgram } from './compose.js';
import { COMPOSE_VERSION } from '../compose/engine/labels.js';

const GLOBAL_WITH_VALUE = new Set(['-H', '--host', '-c', '--context', '--config', '-l', '--log-level', '--tlscacert', '--tlscert', '--tlskey']);

/** The argv main() should see: docker's globals kept in front of `compose`. */
export function pluginArgv(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i] as string;
    if (a === 'compose') return argv;
    if (!a.startsWith('-')) break;
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (GLOBAL_WITH_VALUE.has(name) && !a.includes('=')) i += 2;
    else if (['-D', '--debug', '--tls', '--tlsverify'].includes(name)) i += 1;
    else break;
  }
  return ['compose', ...argv];
}

async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'docker-cli-plugin-metadata') {
    process.stdout.write(
      `${JSON.stringify({ SchemaVersion: '0.1.0', Vendor: 'Berth', Version: `v${COMPOSE_VERSION}`, ShortDescription: 'Docker Compose', URL: 'https://github.com/berth' }, null, 2)}\n`,
    );
    return 0;
  }
  // the docker CLI's contexts are its own; Berth reads DOCKER_HOST from the environment the CLI passes
  composeProgram.name = process.env['DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND'] ? 'docker compose' : 'docker-compose';
  return main(pluginArgv(argv));
}

runEntry(run);
