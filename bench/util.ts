// Shared by the bench entries: the repository root, order statistics, and timing a whole node process.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRepository } from '../src/registry/index.js';
import { sha256Digest } from '../src/oci/digest.js';
import { MediaType } from '../src/oci/mediaTypes.js';
import type { Descriptor } from '../src/oci/descriptor.js';

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

/** Wall-clock milliseconds of one `node ARGS` process. */
export function timeNode(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const t0 = process.hrtime.bigint();
  runNode(args, process.execPath, env);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Pushes a tiny one-layer OCI image (content from `text`) as NAME:1 through our registry client; returns its digest. */
export async function pushSyntheticImage(name: string, text: string): Promise<string> {
  const repo = openRepository(name, { credentials: null });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(text)] } }));
  const layer = Buffer.from(text);
  const cfg: Descriptor = { mediaType: MediaType.OCI_CONFIG, digest: sha256Digest(config), size: config.length };
  const lay: Descriptor = { mediaType: MediaType.OCI_LAYER_TAR, digest: sha256Digest(layer), size: layer.length };
  await repo.pushBlob(cfg, config);
  await repo.pushBlob(lay, layer);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: cfg, layers: [lay] }));
  const desc: Descriptor = { mediaType: MediaType.OCI_MANIFEST, digest: sha256Digest(manifest), size: manifest.length };
  await repo.pushManifest(desc, manifest, '1');
  return desc.digest;
}
