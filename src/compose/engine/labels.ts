/**
 * The labels docker compose v2 puts on what it creates (its pkg/api/labels.go names), so Berth
 * and docker compose each find and manage the other's containers, networks and volumes.
 */
import type { Filters } from '../../engine-api/types.js';

export const PROJECT = 'com.docker.compose.project';
export const SERVICE = 'com.docker.compose.service';
export const CONTAINER_NUMBER = 'com.docker.compose.container-number';
export const ONEOFF = 'com.docker.compose.oneoff';
export const CONFIG_HASH = 'com.docker.compose.config-hash';
export const CONFIG_FILES = 'com.docker.compose.project.config_files';
export const WORKING_DIR = 'com.docker.compose.project.working_dir';
export const ENVIRONMENT_FILE = 'com.docker.compose.project.environment_file';
export const VERSION = 'com.docker.compose.version';
export const DEPENDS_ON = 'com.docker.compose.depends_on';
export const IMAGE = 'com.docker.compose.image';
export const NETWORK = 'com.docker.compose.network';
export const VOLUME = 'com.docker.compose.volume';
export const REPLACE = 'com.docker.compose.replace';
export const SLUG = 'com.docker.compose.slug';

/** The compose version Berth writes into com.docker.compose.version (the v2 release it follows). */
export const COMPOSE_VERSION = '2.29.0';

/** Filters for a project's containers (optionally one-offs only, or none). */
export function projectFilter(project: string, o: { services?: string[]; oneoff?: boolean } = {}): Filters {
  const label = [`${PROJECT}=${project}`];
  if (o.oneoff !== undefined) label.push(`${ONEOFF}=${o.oneoff ? 'True' : 'False'}`);
  if (o.services?.length === 1) label.push(`${SERVICE}=${o.services[0]}`);
  return { label };
}

/** A container's number label as a number (0 when missing or not a number). */
export function containerNumber(labels: Record<string, string> | null | undefined): number {
  const n = Number.parseInt(labels?.[CONTAINER_NUMBER] ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

/** v2's container name: `<project>-<service>-<n>` (docker-compose 1.29 used `_`). */
export function containerName(project: string, service: string, n: number): string {
  return `${project}-${service}-${n}`;
}
