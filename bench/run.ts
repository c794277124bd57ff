// `npm run bench`: runs every bench/*.bench.ts (each default-exports an async function returning rows) and
// prints one line per measurement: name, value, unit, goal and whether it was met. Needs the services
// (npm run bench = scripts/bench.sh starts them) for the entries that talk to dockerd or a registry.
// Optional filter: npm run bench -- <substring of file name>
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** e.g. "<= 0.6" or "<= floor + 60 ms"; informational */
  goal?: string;
  met?: boolean;
  note?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort();
let failed = false;
for (const f of files) {
  process.stdout.write(`\n== ${f}\n`);
  try {
    const mod = await import(pathToFileURL(join(here, f)).href);
    const rows: BenchRow[] = await mod.default();
    for (const r of rows) {
      const mark = r.met === undefined ? '' : r.met ? '  ok' : '  MISSED';
      process.stdout.write(`${r.name.padEnd(58)} ${String(r.value).padStart(10)} ${r.unit.padEnd(8)} ${r.goal ? `goal ${r.goal}` : ''}${mark}${r.note ? `  (${r.note})` : ''}\n`);
    }
  } catch (e) {
    failed = true;
    process.stdout.write(`bench ${f} failed: ${(e as Error).stack ?? e}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
