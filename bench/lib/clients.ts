/** The clients bench/run.ts drives both daemons with: the docker CLI and bin/berth. */
import path from 'node:path';
import type { DaemonSpec } from './daemons.js';
import { REPO } from './paths.js';

export interface Client {
  key: 'docker' | 'berth';
  /** What the table calls it. */
  name: string;
  cmd: string;
  env(spec: DaemonSpec): NodeJS.ProcessEnv;
}

export function dockerClient(bin: string): Client {
  return {
    key: 'docker',
    name: 'docker',
    cmd: bin,
    env: (spec) => {
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${spec.sock}` };
      delete env['DOCKER_CONTEXT'];
      return env;
    },
  };
}

export const BERTH: Client = {
  key: 'berth',
  name: 'berth',
  cmd: path.join(REPO, 'bin', 'berth'),
  env: (spec) => ({ ...process.env, BERTH_HOST: `unix://${spec.sock}` }),
};
