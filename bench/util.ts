// Shared by the bench entries: the repository root, order statistics, and timing a whole node process.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRepository } from '../src/registry/index.js';
import { pushTinyImage } from '../test/support/tinyimage.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The p-th percentile (nearest rank), rounded to `decimals`. */
export function percentile(xs: number[], p: number, decimals = 2): number {
  const s = [...xs].sort((a, b) => a - b);
  const f = 10 ** decimals;
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * f) / f;
}

/** Runs `node ARGS` in the repository root (NODE_OPTIONS cleared) and returns its stdout; throws on a non-zero exit. */
export function runNode(args: string[], cmd: string = process.execPath, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } });
  if (r.status !== 0) throw new Error(`${cmd === process.execPath ? 'node' : cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Wall-clock milliseconds of one `node ARGS` process (or `cmd ARGS`). */
export function timeNode(args: string[], env: NodeJS.ProcessEnv = {}, cmd: string = process.execPath): number {
  const t0 = process.hrtime.bigint();
  runNode(args, cmd, env);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Pushes a tiny one-layer OCI image (content from `text`) as NAME:1 through our registry client; returns its digest. */
export async function pushSyntheticImage(name: string, text: string): Promise<string> {
  return (await pushTinyImage(openRepository(name, { credentials: null }), text, '1')).desc.digest;
}
