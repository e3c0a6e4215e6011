/** CRI security settings in Docker's terms (HostConfig.SecurityOpt entries). */
import { promises as fs } from 'node:fs';
import { invalid } from '../lib/errors.js';
import type { SecurityProfile } from './types.js';

/**
 * The seccomp option: CRI's default (nothing said) is unconfined; `RuntimeDefault` /
 * `runtime/default` / `docker/default` is Berth's default profile; `Localhost` /
 * `localhost/<file>` is that profile file (Docker's JSON format).
 */
export async function seccompOpts(profile: SecurityProfile | null | undefined, legacyPath: string | undefined): Promise<string[]> {
  let kind: 'default' | 'unconfined' | 'file' = 'unconfined';
  let file = '';
  if (profile) {
    if (profile.profile_type === 'RuntimeDefault') kind = 'default';
    else if (profile.profile_type === 'Localhost') {
      kind = 'file';
      file = profile.localhost_ref;
    }
  } else if (legacyPath) {
    if (legacyPath === 'runtime/default' || legacyPath === 'docker/default') kind = 'default';
    else if (legacyPath.startsWith('localhost/')) {
      kind = 'file';
      file = legacyPath.slice('localhost/'.length);
    } else if (legacyPath !== 'unconfined') throw invalid(`unsupported seccomp profile: ${legacyPath}`);
  }
  if (kind === 'default') return [];
  if (kind === 'unconfined') return ['seccomp=unconfined'];
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw invalid(`cannot load seccomp profile "${file}": ${(err as Error).message}`);
  }
  return [`seccomp=${text}`];
}
