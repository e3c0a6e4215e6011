/** A compose project's containers and addresses as a test daemon's Engine API lists them. */
import type { TestDaemon } from './daemon.js';

export interface Listed {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

/** Every container (running or not) labelled with the compose project `project`. */
export async function projectContainers(d: TestDaemon, project: string): Promise<Listed[]> {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  return (await d.api.get(`/containers/json?all=1&filters=${f}`)).json<Listed[]>();
}

/** Container name → ID. */
export async function projectIds(d: TestDaemon, project: string): Promise<Record<string, string>> {
  return Object.fromEntries((await projectContainers(d, project)).map((c) => [(c.Names[0] ?? '').slice(1), c.Id]));
}

/** Container name → network → IPv4 address. */
export async function projectAddresses(d: TestDaemon, project: string): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of await projectContainers(d, project)) {
    const ins = await d.api.inspect(c.Id);
    out[(c.Names[0] ?? '').slice(1)] = Object.fromEntries(
      Object.entries(ins.NetworkSettings.Networks as Record<string, { IPAddress: string }>).map(([k, v]) => [k, v.IPAddress]),
    );
  }
  return out;
}
