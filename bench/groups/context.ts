/** What every group of bench/run.ts gets: the daemons, the docker CLI if any, and where its figures go. */
import type { DaemonSpec } from '../lib/daemons.js';
import type { Machine } from '../lib/machine.js';
import type { Row } from '../lib/report.js';

export interface RunContext {
  specs: DaemonSpec[];
  /** The docker CLI, when installed; the groups fall back to bin/berth without it. */
  dockerBin: string | undefined;
  machine: Machine;
  /** The markdown table's rows and the notes under it, in report order. */
  rows: Row[];
  notes: string[];
  /** results.json, key by key in report order. */
  results: Record<string, unknown>;
}
