// Cold `docker sign push` (empty store + layer cache, own empty registry; run through the docker CLI with the
// plug-ins installed by `docker sign install`, as users run it) vs `docker push` of the same image to another empty
// registry, for a small FROM-scratch image and a ~1.3 GB three-layer image with one 1 GB layer;
// plus the peak RSS of our push process (/usr/bin/time -v).
//
// Big image data (generated here once, kept as docker image ds-bench-big:v1 so later runs skip the build):
//   layer 1: /data/big.bin   1024 MiB   layer 2: /data/mid.bin 256 MiB   layer 3: /data/small.bin 40 MiB (+ busybox layer)
// Every file is a sequence of 1 MiB blocks, each 3/8 random bytes (crypto.randomBytes: incompressible) and 5/8
// text of pseudo-random words from a 64-word vocabulary (gzip -6 shrinks it ~3x), so gzip has real work on the whole
// file and the result is ~58% of the input. Needs the services (DOCKER_HOST) and docker-registry on PATH.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { once } from 'node:events';
import type { BenchRow } from './run.js';
import { root, startRegistry, tempDir, mustSh, sh, uid } from '../integration/push.helpers.js';
import { install } from '../plugins/cli/install.js';

const BIG_TAG = 'ds-bench-big:v1';
const REPS = Number(process.env.DS_BENCH_REPS ?? 1);
// The small image takes a fraction of a second: one sample is mostly noise, so it gets several.
const SMALL_REPS = Number(process.env.DS_BENCH_SMALL_REPS ?? 9);

function words(n: number, seed: number): Buffer {
  const vocab = Array.from({ length: 64 }, (_, i) => `w${(i * 2654435761 % 99991).toString(36)}${'abcdefgh'.slice(0, 1 + (i % 7))}`);
  const b = Buffer.allocUnsafe(n);
  let o = 0;
  let s = seed;
  while (o < n) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    o += b.write(vocab[(s >>> 8) % 64] + ((s & 15) === 0 ? '\n' : ' '), o);
  }
  return b;
}

async function writeData(file: string, mib: number): Promise<void> {
  const out = createWriteStream(file);
  const text = words(640 * 1024 * 4, 7);
  for (let i = 0; i < mib; i++) {
    const t = text.subarray(((i * 97) % 3) * 640 * 1024, ((i * 97) % 3) * 640 * 1024 + 640 * 1024);
    const block = Buffer.concat([randomBytes(384 * 1024), t]);
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function ensureBigImage(): Promise<void> {
  if (sh('docker', ['image', 'inspect', BIG_TAG]).status === 0) return;
  const ctx = tempDir('ds-bench-big-');
  try {
    copyFileSync('/bin/busybox', join(ctx, 'busybox'));
    mkdirSync(join(ctx, 'data'));
    await writeData(join(ctx, 'data', 'big.bin'), 1024);
    await writeData(join(ctx, 'data', 'mid.bin'), 256);
    await writeData(join(ctx, 'data', 'small.bin'), 40);
    writeFileSync(join(ctx, 'Dockerfile'), [
      'FROM scratch', 'COPY busybox /bin/busybox', 'COPY data/big.bin /data/big.bin', 'COPY data/mid.bin /data/mid.bin',
      'COPY data/small.bin /data/small.bin', 'CMD ["/bin/busybox", "ls", "-l", "/data"]',
    ].join('\n') + '\n');
    mustSh('docker', ['build', '-q', '-t', BIG_TAG, ctx], { DOCKER_BUILDKIT: '0' });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

interface Run { seconds: number; maxRssMiB?: number }

async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => { err += c; });
  const [code] = (await once(child, 'exit')) as [number];
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  return { seconds, maxRssMiB: m ? Number(m[1]) / 1024 : undefined };
}

/** A docker config dir with the plug-ins installed (`docker sign install`), made once per bench run. */
let pluginDir: string | undefined;
function pluginConfig(): string {
  if (!pluginDir) {
    pluginDir = tempDir('ds-bench-docker-config-');
    install({ dockerConfig: pluginDir });
    process.on('exit', () => rmSync(pluginDir!, { recursive: true, force: true }));
  }
  return pluginDir;
}

async function oursCold(image: string): Promise<Run> {
  const reg = await startRegistry();
  const cfg = tempDir('ds-bench-cfg-');
  try {
    const tag = `${reg.addr}/bench-${uid()}:1`;
    mustSh('docker', ['tag', image, tag]);
    try {
      // as the user runs it: the docker CLI, which asks the installed plug-in for its metadata and then runs it
      return await timed('docker', ['sign', 'push', '-q', tag], { DOCKER_SIGN_CONFIG: cfg, DOCKER_CONFIG: pluginConfig() });
    } finally {
      sh('docker', ['rmi', tag]);
    }
  } finally {
    await reg.stop();
    rmSync(reg.dir, { recursive: true, force: true });
    rmSync(cfg, { recursive: true, force: true });
  }
}

async function dockerPush(image: string): Promise<Run> {
  const reg = await startRegistry();
  try {
    const tag = `${reg.addr}/bench-${uid()}:1`;
    mustSh('docker', ['tag', image, tag]);
    try {
      return await timed('docker', ['push', '-q', tag]);
    } finally {
      sh('docker', ['rmi', tag]);
    }
  } finally {
    await reg.stop();
    rmSync(reg.dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function compare(label: string, image: string, goal: number, reps = REPS): Promise<BenchRow[]> {
  const ours: Run[] = [];
  const theirs: Run[] = [];
  for (let i = 0; i < reps; i++) {
    theirs.push(await dockerPush(image));
    ours.push(await oursCold(image));
  }
  const o = median(ours.map((r) => r.seconds));
  const d = median(theirs.map((r) => r.seconds));
  const rss = Math.max(...ours.map((r) => r.maxRssMiB ?? 0));
  return [
    { name: `push ${label}: docker sign push (cold)`, value: Number(o.toFixed(3)), unit: 's' },
    { name: `push ${label}: docker push`, value: Number(d.toFixed(3)), unit: 's' },
    { name: `push ${label}: ratio sign push / docker push`, value: Number((o / d).toFixed(3)), unit: 'x', goal: `<= ${goal}`, met: o / d <= goal, note: `median of ${reps}` },
    { name: `push ${label}: peak RSS of docker sign push`, value: Number(rss.toFixed(1)), unit: 'MiB', goal: '<= 200', met: rss <= 200 },
  ];
}

export default async function bench(): Promise<BenchRow[]> {
  if (!process.env.DOCKER_HOST) throw new Error('DOCKER_HOST not set: eval "$(bash scripts/services.sh env)"');
  const small = `ds-bench-small-${uid()}:1`;
  mustSh('bash', [join(root, 'scripts', 'test-image.sh'), small, 'bench small']);
  const rows: BenchRow[] = [];
  try {
    rows.push(...(await compare('small image', small, 1.0, SMALL_REPS)));
  } finally {
    sh('docker', ['rmi', small]);
  }
  if (process.env.DS_BENCH_PUSH_SMALL_ONLY) return rows;
  await ensureBigImage();
  rows.push(...(await compare('1.3 GB image', BIG_TAG, 0.6)));
  return rows;
}

export { ensureBigImage, oursCold, dockerPush };
