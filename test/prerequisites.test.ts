/**
 * The real clients and reference programs the suite drives. Files that use one skip their cases
 * with a message when it is absent (so a partial machine still runs the rest); this file makes the
 * suite as a whole fail then, so a missing client can never pass unnoticed. Everything named here
 * is installed by scripts/install-deps.sh (or lives in ../shared on this project's machines).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './helpers/daemon.js';

const SHARED = path.resolve(REPO, '../shared');

/** name → how to tell it is there */
const TOOLS: Array<[string, () => boolean]> = [
  ['the docker CLI (/usr/local/bin/docker)', () => fs.existsSync('/usr/local/bin/docker')],
  ["Debian's dockerd (docker.io, /usr/sbin/dockerd)", () => fs.existsSync('/usr/sbin/dockerd')],
  ['runc', () => onPath('runc')],
  ['conmon', () => onPath('conmon')],
  ['skopeo', () => onPath('skopeo')],
  ["Debian's docker-registry", () => fs.existsSync('/usr/bin/docker-registry')],
  ['htpasswd (apache2-utils)', () => onPath('htpasswd')],
  ["docker-compose (Debian's 1.29)", () => onPath('docker-compose')],
  ['python3 with docker-py (python3-docker)', () => py('import docker')],
  ['python3 with pytest, requests, paramiko, websocket', () => py('import pytest, requests, paramiko, websocket')],
  ["docker-py's own suite (../shared/clients/docker-py)", () => fs.existsSync(path.join(SHARED, 'clients/docker-py/tests/integration'))],
];

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function py(code: string): boolean {
  return spawnSync('/usr/bin/python3', ['-c', code], { stdio: 'ignore' }).status === 0;
}

describe('prerequisites of the suite', () => {
  for (const [name, present] of TOOLS) {
    it(`${name} is installed`, () => {
      assert.ok(present(), `${name} is missing: scripts/install-deps.sh should install it (tests that need it are skipped and the suite fails here)`);
    });
  }
});
