/**
 * CRI v1's api.proto (src/cri/api.proto, a copy of the reference) loaded by @grpc/proto-loader:
 * the `runtime.v1.RuntimeService` and `runtime.v1.ImageService` definitions grpc-js serves.
 * Field names stay as the proto spells them (snake_case); int64s are decoded as strings (exact
 * for nanosecond timestamps) and accept numbers, strings or bigints' strings when encoded;
 * enums are their names.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';

/** The proto beside this module (dist/src/cri/ gets a copy at build time) or in the source tree. */
function protoPath(): string {
  const here = fileURLToPath(new URL('./api.proto', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../../src/cri/api.proto', import.meta.url));
}

export interface CriServices {
  runtime: ServiceDefinition;
  image: ServiceDefinition;
}

let loaded: CriServices | undefined;

export function criServices(): CriServices {
  if (loaded) return loaded;
  const def = protoLoader.loadSync(protoPath(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const runtime = def['runtime.v1.RuntimeService'] as unknown as ServiceDefinition;
  const image = def['runtime.v1.ImageService'] as unknown as ServiceDefinition;
  loaded = { runtime, image };
  return loaded;
}
