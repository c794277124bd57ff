// Shared by integration/generate*.test.ts, integration/push*.test.ts and bench/push.bench.ts: running the CLI,
// building FROM-scratch images with chosen files, and throwaway Distribution registries on free ports.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Throws (never skips) when a service the integration tests need is missing. */
export function requireServices(): { dockerHost: string; registry: string } {
  if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build');
  const dockerHost = process.env.DOCKER_HOST;
  const registry = process.env.DS_REGISTRY;
  if (!dockerHost) throw new Error('DOCKER_HOST is not set: eval "$(bash scripts/services.sh env)"');
  if (!registry) throw new Error('DS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
  const v = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error(`dockerd not reachable at ${dockerHost}: ${v.stderr}`);
  const r = spawnSync('curl', ['-fsS', `http://${registry}/v2/`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`registry ${registry} not reachable: ${r.stderr}`);
  return { dockerHost, registry };
}

export const uid = () => randomBytes(4).toString('hex');

export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeout = 600_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20 });
}

export function mustSh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = sh(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** `node bin/docker-sign.js …` */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return sh(process.execPath, [join(root, 'bin', 'docker-sign.js'), ...args], env);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Builds a FROM-scratch image with busybox and the given files (path in image → content or a file to copy). */
export function buildImage(tag: string, files: Record<string, Buffer | string | { copyFrom: string }>, layers?: string[][]): void {
  const ctx = tempDir('ds-img-');
  try {
    copyFileSync('/bin/busybox', join(ctx, 'busybox'));
    const lines = ['FROM scratch', 'COPY busybox /bin/busybox'];
    const groups = layers ?? [Object.keys(files)];
    for (const [p, c] of Object.entries(files)) {
      const dst = join(ctx, 'files', p);
      mkdirSync(dirname(dst), { recursive: true });
      if (typeof c === 'object' && !Buffer.isBuffer(c)) copyFileSync(c.copyFrom, dst);
      else writeFileSync(dst, c);
    }
    for (const g of groups) for (const p of g) lines.push(`COPY files/${p} /${p}`);
    lines.push('CMD ["/bin/busybox", "cat", "/message.txt"]');
    writeFileSync(join(ctx, 'Dockerfile'), lines.join('\n') + '\n');
    mustSh('docker', ['build', '-q', '-t', tag, ctx], { DOCKER_BUILDKIT: '0' });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

export interface Registry { addr: string; dir: string; proc: ChildProcess; stop(): Promise<void>; start(): Promise<void> }

/**
 * A throwaway `docker-registry serve` (Distribution 2.8) on a free port with its own storage dir; with `tls`, it
 * serves HTTPS with that certificate (and asks for client certificates issued by `clientCas`).
 */
export async function startRegistry(dir?: string, port?: number, tls?: { cert: string; key: string; clientCas?: string; curl: string[] }): Promise<Registry> {
  const d = dir ?? tempDir('ds-reg-');
  const p = port ?? (await freePort());
  mkdirSync(join(d, 'data'), { recursive: true });
  writeFileSync(join(d, 'config.yml'), [
    'version: 0.1', 'log: {level: error}', 'storage:', `  filesystem: {rootdirectory: ${d}/data}`, '  delete: {enabled: true}',
    'http:', `  addr: 127.0.0.1:${p}`, '  secret: ds-throwaway',
    ...(tls ? ['  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`, ...(tls.clientCas ? ['    clientcas:', `      - ${tls.clientCas}`] : [])] : []),
  ].join('\n') + '\n');
  const reg: Registry = {
    addr: `127.0.0.1:${p}`, dir: d, proc: undefined as unknown as ChildProcess,
    async start() {
      reg.proc = spawn('docker-registry', ['serve', join(d, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
      for (let i = 0; i < 100; i++) {
        if (sh('curl', ['-fsS', ...(tls ? [...tls.curl, `https://${reg.addr}/v2/`] : [`http://${reg.addr}/v2/`])]).status === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`throwaway registry on ${reg.addr} did not start`);
    },
    async stop() {
      if (reg.proc.exitCode === null && reg.proc.signalCode === null) {
        const exited = new Promise((r) => reg.proc.once('exit', r));
        reg.proc.kill('SIGKILL');
        await exited;
      }
    },
  };
  await reg.start();
  return reg;
}
