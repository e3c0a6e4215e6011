// Per-spec table of two critest junit reports (containerd's, berthd's) as markdown, then the specs
// failing on both with the first line of each one's junit failure text.
// usage: node test/cri/critest-table.mjs CONTAINERD-JUNIT BERTHD-JUNIT
import { existsSync, readFileSync } from 'node:fs';

const unxml = (s) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#xA;/g, '\n')
    .replace(/&#x9;/g, '\t')
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');

/** spec name -> { state: passed|failed|skipped, reason } from a ginkgo junit report. */
function readJunit(file) {
  const specs = new Map();
  if (!existsSync(file)) return specs;
  const xml = readFileSync(file, 'utf8');
  for (const m of xml.matchAll(/<testcase\s+name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = unxml(m[1]).replace(/^\[It\]\s*/, '');
    if (/^\[(BeforeSuite|AfterSuite|SynchronizedBeforeSuite|SynchronizedAfterSuite)\]/.test(name)) continue;
    const body = m[3] ?? '';
    const fail = /<(failure|error)\b([^>]*)>([\s\S]*?)<\/\1>|<(failure|error)\b([^>]*)\/>/.exec(body);
    if (fail) {
      const attrs = fail[2] ?? fail[5] ?? '';
      const msg = /message="([^"]*)"/.exec(attrs);
      const text = unxml(msg?.[1] || fail[3] || '').trim();
      specs.set(name, {
        state: 'failed',
        reason:
          text
            .split('\n')
            .find((l) => l.trim() !== '')
            ?.trim() ?? '',
      });
    } else if (/<skipped\b/.test(body)) specs.set(name, { state: 'skipped', reason: '' });
    else specs.set(name, { state: 'passed', reason: '' });
  }
  return specs;
}

const [ctdFile, berthFile] = process.argv.slice(2);
const ctd = readJunit(ctdFile);
const berth = readJunit(berthFile);
const names = [...new Set([...ctd.keys(), ...berth.keys()])].sort();
const count = (m, s) => [...m.values()].filter((v) => v.state === s).length;
const out = [];
out.push('| spec | containerd | berthd |', '| --- | --- | --- |');
for (const n of names) out.push(`| ${n.replace(/\|/g, '\\|')} | ${ctd.get(n)?.state ?? '—'} | ${berth.get(n)?.state ?? '—'} |`);
out.push('');
for (const [label, m] of [
  ['containerd', ctd],
  ['berthd', berth],
])
  out.push(`${label}: ${m.size} specs, ${count(m, 'passed')} passed, ${count(m, 'failed')} failed, ${count(m, 'skipped')} skipped`);
const both = names.filter((n) => ctd.get(n)?.state === 'failed' && berth.get(n)?.state === 'failed');
const only = (a, b) => names.filter((n) => a.get(n)?.state === 'failed' && b.get(n)?.state !== 'failed');
out.push('', `failing on both (${both.length}):`);
for (const n of both) out.push(`- ${n}`, `  - containerd: ${ctd.get(n).reason}`, `  - berthd: ${berth.get(n).reason}`);
out.push('', `failing on containerd only (${only(ctd, berth).length}):`);
for (const n of only(ctd, berth)) out.push(`- ${n}: ${ctd.get(n).reason}`);
out.push('', `failing on berthd only (${only(berth, ctd).length}):`);
for (const n of only(berth, ctd)) out.push(`- ${n}: ${berth.get(n).reason}`);
process.stdout.write(`${out.join('\n')}\n`);
