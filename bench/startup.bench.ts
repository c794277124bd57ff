// Start-up time of the CLI plug-in entry points vs the node floor (`node -e 0`), median of N runs each.
// Needs `npm run build` first (bin/*.js load dist/). Goals (issue 6): metadata ~ floor, `docker sign --help`
// within ~100 ms of the floor.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './run.js';
import { root, median, timeNode } from './util.js';
import { install } from '../plugins/cli/install.js';

const N = Number(process.env.DS_BENCH_STARTUP_RUNS ?? 15);

export default async function startupBench(): Promise<BenchRow[]> {
  if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build first');
  // the plug-in executables as `docker sign install` writes them (/bin/sh shims): what docker actually runs
  const dockerConfig = mkdtempSync(join(tmpdir(), 'ds-bench-startup-'));
  process.on('exit', () => rmSync(dockerConfig, { recursive: true, force: true }));
  const shims = install({ dockerConfig }).plugins;
  const shim = (name: string) => shims.find((p) => p.name === name)!.path;
  const cases: [string, string[], number, string?][] = [
    ['docker-sign docker-cli-plugin-metadata (installed plug-in: the /bin/sh shim answers)', ['docker-cli-plugin-metadata'], 20, shim('sign')],
    ['docker-sign docker-cli-plugin-metadata (bin/docker-sign.js run by node)', ['bin/docker-sign.js', 'docker-cli-plugin-metadata'], 20],
    ['docker-generate docker-cli-plugin-metadata', ['bin/docker-generate.js', 'docker-cli-plugin-metadata'], 20],
    ['docker sign --help', ['bin/docker-sign.js', '--help'], 100],
    ['docker sign guard serve --help', ['bin/docker-sign.js', 'guard', 'serve', '--help'], 100],
    ['docker generate --help', ['bin/docker-generate.js', '--help'], 100],
  ];
  // Interleaved rounds (floor, then every case) so a load spike on a shared machine hits all of them alike.
  const all: [string[], string?][] = [[['-e', '0']], ...cases.map((c): [string[], string?] => [c[1], c[3]])];
  const samples: number[][] = all.map(() => []);
  for (let round = 0; round < N + 2; round++) {
    all.forEach(([args, cmd], i) => {
      const ms = timeNode(args, {}, cmd);
      if (round >= 2) samples[i].push(ms); // first rounds warm the page cache
    });
  }
  const med = samples.map((xs) => Math.round(median(xs) * 10) / 10);
  const floor = med[0];
  const rows: BenchRow[] = [{ name: 'node -e 0 (floor)', value: floor, unit: 'ms', note: `median of ${N}, interleaved` }];
  for (const [k, [name, , budget]] of cases.entries()) {
    const v = med[k + 1];
    rows.push({ name, value: v, unit: 'ms', goal: `<= floor + ${budget} ms`, met: v <= floor + budget, note: `floor + ${Math.round(v - floor)} ms` });
  }
  return rows;
}
