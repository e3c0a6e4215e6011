/**
 * The commands that read a container: logs, inspect, top, diff, export, and cp (its own module,
 * loaded on demand).
 */
import { createWriteStream } from 'node:fs';
import { copyStream, demuxStream } from '../client/stream.js';
import { toUnixTimestamp } from '../lib/timestamp.js';
import type { Cli } from './common.js';
import type { ParsedFlags } from './flags.js';
import { tabwrite } from './format.js';
import { runInspect } from './inspect.js';

export async function logsCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const id = flags.args[0] as string;
  const info = await cli.client.containerInspect(id);
  const since = flags.string('since');
  const until = flags.string('until');
  const res = await cli.client.containerLogs(id, {
    follow: flags.bool('follow'),
    timestamps: flags.bool('timestamps'),
    details: flags.bool('details'),
    since: since ? toUnixTimestamp(since) : undefined,
    until: until ? toUnixTimestamp(until) : undefined,
    tail: flags.string('tail') ?? 'all',
  });
  if (info.Config.Tty) await copyStream(res, cli.out);
  else await demuxStream(res, { stdout: cli.out, stderr: cli.err });
}

export async function inspectCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await runInspect(
    cli,
    flags.args,
    async (name) => {
      const res = await cli.client.request({ path: `/containers/${encodeURIComponent(name)}/json`, query: { size: flags.bool('size') } });
      const chunks: Buffer[] = [];
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    },
    { format: flags.string('format') },
  );
}

export async function topCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [id = '', ...psArgs] = flags.args;
  const top = await cli.client.containerTop(id, { psArgs: psArgs.length ? psArgs.join(' ') : undefined });
  let text = `${top.Titles.join('\t')}\n`;
  for (const p of top.Processes ?? []) text += `${p.join('\t')}\n`;
  cli.print(tabwrite(text, { minWidth: 20, padding: 3 }));
}

export async function diffCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const changes = await cli.client.containerChanges(flags.args[0] as string);
  for (const c of changes) {
    const kind = c.Kind === 0 ? 'C' : c.Kind === 1 ? 'A' : c.Kind === 2 ? 'D' : '?';
    cli.println(`${kind} ${c.Path}`);
  }
}

export async function exportCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const output = flags.string('output');
  if (!output && process.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const res = await cli.client.containerExport(flags.args[0] as string);
  if (output) {
    const { pipeline } = await import('node:stream/promises');
    await pipeline(res, createWriteStream(output, { mode: 0o600 }));
  } else {
    await copyStream(res, cli.out);
  }
}

export async function cpCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const { copyCommand } = await import('./cp.js');
  await copyCommand(cli, flags.args[0] as string, flags.args[1] as string, {
    archive: flags.bool('archive'),
    followLink: flags.bool('follow-link'),
    quiet: flags.bool('quiet'),
  });
}
