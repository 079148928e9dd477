// `make bench`: runs the issue-13 comparison (sftp-compare.bench.ts) by default; BENCH=<substring> picks other
// test/bench/*.bench.ts files, BENCH=all runs every one in turn; each says what it measures. Benchmarks report ratios
// from one interleaved run and CPU-seconds per GiB; results land in .bench/ (not committed).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
const DEFAULT = 'sftp-compare';
const filter = process.env['BENCH'] || DEFAULT;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (filter === 'all' || f.includes(filter)))
  .sort();
let failed = 0;
for (const f of files) {
  const what = readFileSync(join(dir, f), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('//'))
    .map((l) => l.slice(3))
    .join(' ');
  console.log(`\n=== ${f}\n${what}\n`);
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
if (files.length === 0) console.log(`no benchmark matches BENCH=${filter}`);
process.exitCode = failed === 0 ? 0 : 1;
