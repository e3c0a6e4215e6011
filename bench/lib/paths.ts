/** Where the benches find the repository and write their results. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: this file compiles to dist/bench/lib/paths.js, three levels below it. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Daemon logs and results.json of the benches. */
export const OUT_DIR = path.join(REPO, 'dist', 'bench');
