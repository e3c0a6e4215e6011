/**
 * ImageService: CRI's image RPCs on Berth's image store (shared with the Docker side) and
 * distribution service.
 */
import type { CriHandlers } from './server.js';

export function imageHandlers(): CriHandlers {
  return { unary: {} };
}
