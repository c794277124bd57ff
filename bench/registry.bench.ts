// Blob upload throughput of the registry client vs. the physical copy speed of the same file on the same disk.
// A random blob (default 256 MiB, DS_BENCH_REGISTRY_MIB to change) is written to a temp file, copied with `cp`,
// then pushed to DS_REGISTRY (Distribution 2.8 on loopback) as one streamed monolithic PUT, and chunked.
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { openRepository, closeConnections } from '../src/registry/index.js';
import type { Digest } from '../src/oci/digest.js';
import type { BenchRow } from './run.js';

const MiB = 1024 * 1024;

async function writeRandomFile(path: string, bytes: number): Promise<Digest> {
  const out = createWriteStream(path);
  const h = createHash('sha256');
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, 4 * MiB);
    const chunk = randomBytes(n);
    h.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
    left -= n;
  }
  out.end();
  await once(out, 'finish');
  return `sha256:${h.digest('hex')}`;
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export default async function registryBench(): Promise<BenchRow[]> {
  const reg = process.env.DS_REGISTRY;
  if (!reg) throw new Error('DS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
  const size = Number(process.env.DS_BENCH_REGISTRY_MIB ?? 256) * MiB;
  const dir = mkdtempSync(join(tmpdir(), 'ds-bench-registry-'));
  const src = join(dir, 'blob.bin');
  try {
    const digest = await writeRandomFile(src, size);
    const desc = { mediaType: 'application/octet-stream', digest, size };
    // physical copy on the same disk (best of 2; the file is in the page cache for both cp and the upload)
    let cpSec = Infinity;
    for (let i = 0; i < 2; i++) {
      const t0 = process.hrtime.bigint();
      execFileSync('cp', [src, join(dir, `copy${i}.bin`)]);
      cpSec = Math.min(cpSec, seconds(t0));
      rmSync(join(dir, `copy${i}.bin`));
    }
    // the client: one streamed monolithic PUT (best of 2), then chunked
    let upSec = Infinity;
    for (let i = 0; i < 2; i++) {
      const repo = openRepository(`${reg}/ds-bench/registry-${randomBytes(4).toString('hex')}`);
      const t0 = process.hrtime.bigint();
      await repo.pushBlob(desc, () => createReadStream(src, { highWaterMark: MiB }));
      upSec = Math.min(upSec, seconds(t0));
      await repo.deleteBlob(digest).catch(() => undefined);
    }
    const repo2 = openRepository(`${reg}/ds-bench/registry-${randomBytes(4).toString('hex')}`);
    const t1 = process.hrtime.bigint();
    await repo2.pushBlobChunked(desc, () => createReadStream(src, { highWaterMark: MiB }), 32 * MiB);
    const chunkSec = seconds(t1);
    await repo2.deleteBlob(digest).catch(() => undefined);
    // the registry's own floor: curl streaming the file in one PUT (best of 2)
    let curlSec = Infinity;
    for (let i = 0; i < 2; i++) {
      const repo = openRepository(`${reg}/ds-bench/registry-${randomBytes(4).toString('hex')}`);
      const post = execFileSync('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-X', 'POST', `http://${reg}/v2/${repo.repository}/blobs/uploads/`], { encoding: 'utf8' });
      const loc = /^location:\s*(\S+)/im.exec(post)?.[1];
      if (!loc) throw new Error(`no upload location from ${reg}`);
      const url = new URL(loc, `http://${reg}`);
      url.searchParams.set('digest', digest);
      const t2 = process.hrtime.bigint();
      execFileSync('curl', ['-sS', '-f', '-o', '/dev/null', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-T', src, url.href]);
      curlSec = Math.min(curlSec, seconds(t2));
      await repo.deleteBlob(digest).catch(() => undefined);
    }
    if (statSync(src).size !== size) throw new Error('temp file changed size');
    const mbs = (sec: number): number => Math.round((size / MiB / sec) * 10) / 10;
    const ratio = Math.round((cpSec / upSec) * 100) / 100;
    const vsCurl = Math.round((curlSec / upSec) * 100) / 100;
    return [
      { name: `registry: cp of a ${size / MiB} MiB file (same disk)`, value: mbs(cpSec), unit: 'MiB/s' },
      { name: 'registry: curl -T of the same file to the registry', value: mbs(curlSec), unit: 'MiB/s', note: "the registry's floor" },
      { name: 'registry: blob upload, monolithic streamed PUT', value: mbs(upSec), unit: 'MiB/s' },
      { name: 'registry: blob upload, chunked (32 MiB PATCHes)', value: mbs(chunkSec), unit: 'MiB/s' },
      {
        name: 'registry: upload throughput / copy throughput',
        value: ratio,
        unit: 'ratio',
        note: 'Distribution hashes and writes every byte on loopback HTTP; see the curl row for what the registry allows',
      },
      { name: 'registry: upload throughput / curl throughput', value: vsCurl, unit: 'ratio', goal: '>= 0.8', met: vsCurl >= 0.8 },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await closeConnections();
  }
}
