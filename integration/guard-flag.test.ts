import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callGuard } from '../plugins/guard/client.js';
import { makeKey, writeTrust } from '../test/guard/support/signing.js';

// A second dockerd started WITH --authorization-plugin=<unique name> (the guard must be up first: dockerd sends
// even its readiness _ping through the plug-in). Checks the raw API paths a CLI test cannot reach: an oversized
// containers/create body (dockerd does not forward bodies over 1 MiB to plug-ins), a chunked one, garbage.
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const R = randomBytes(3).toString('hex');
const NAME = `dsgf${R}`;
const BASE = `/tmp/docker-sign-guard-${R}`;
const CFG = join(BASE, 'cfg');
const SOCK = `/run/docker/plugins/${NAME}.sock`;
const DOCKER_SOCK = join(BASE, 'dockerd', 'docker.sock');

function services(cmd: 'start' | 'stop') {
  const r = spawnSync('bash', [join(root, 'scripts', 'services.sh'), cmd, 'dockerd'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, DS_SERVICES_DIR: BASE, DS_DOCKERD_ARGS: `--authorization-plugin=${NAME}` } });
  if (r.status !== 0) throw new Error(`services.sh ${cmd} dockerd failed: ${r.stderr}`);
}

function api(method: string, path: string, body?: Buffer, chunked = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
    if (body && !chunked) headers['Content-Length'] = body.length;
    const req = request({ socketPath: DOCKER_SOCK, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body && chunked) {
      for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
      req.end();
    } else req.end(body);
  });
}

describe('integration: guard with dockerd --authorization-plugin (raw API)', function () {
  this.timeout(180_000);
  let guard: ChildProcess | undefined;

  before(async () => {
    if (!process.env.DS_REGISTRY) throw new Error('DS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
    if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build');
    mkdirSync(join(CFG, 'guard'), { recursive: true });
    writeTrust(CFG, await makeKey(`guard-flag-${R}`));
    writeFileSync(join(CFG, 'guard', 'config.json'), JSON.stringify({ auditLog: join(BASE, 'audit.log'), timeoutMs: 5000 }));
    guard = spawn(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'guard', 'serve', '--config-dir', CFG, '--name', NAME, '--docker-host', `unix://${DOCKER_SOCK}`], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      try {
        if ((await callGuard(SOCK, '/Plugin.Activate')).status === 200) break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    services('start');
  });

  after(async () => {
    try {
      services('stop');
    } catch {
      // continue cleaning up
    }
    guard?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(BASE, { recursive: true, force: true });
    rmSync(SOCK, { force: true });
  });

  it('ungated requests pass (version, ps) and the guard answered activation', async () => {
    expect((await api('GET', '/v1.41/version')).status).to.equal(200);
    expect((await api('GET', '/containers/json')).status).to.equal(200);
    const st = await callGuard(SOCK, '/DockerSign.Status', 'GET');
    expect(st.body.requests).to.be.greaterThan(0);
  });

  it('containers/create with a body over 1 MiB (not forwarded to the plug-in) is denied', async () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 1100; i++) labels[`l${i}`] = 'x'.repeat(1000);
    const body = Buffer.from(JSON.stringify({ Image: 'anything:1', Labels: labels }));
    expect(body.length).to.be.greaterThan(1024 * 1024);
    const r = await api('POST', '/v1.41/containers/create', body);
    expect(r.status).to.equal(403);
    expect(r.text).to.include(`authorization denied by plugin ${NAME}: docker-sign: container create denied: the request body was not forwarded`);
  });

  it('a chunked containers/create of a local unsigned image is denied (the body is forwarded and checked)', async () => {
    const b = spawnSync('bash', [join(root, 'scripts', 'test-image.sh'), `flag-${R}:1`, 'x'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: `unix://${DOCKER_SOCK}` } });
    expect(b.status, b.stderr).to.equal(0);
    const r = await api('POST', '/containers/create', Buffer.from(JSON.stringify({ Image: `flag-${R}:1` })), true);
    expect(r.status).to.equal(403);
    expect(r.text).to.include('no RepoDigests');
  });

  it('an unversioned, percent-encoded path is still recognised as containers/create', async () => {
    const r = await api('POST', '/containers%2Fcreate', Buffer.from(JSON.stringify({ Image: `flag-${R}:1` })));
    // dockerd either routes it (then the guard must have denied) or rejects the path itself; never a 201
    expect(r.status).to.not.equal(201);
    if (r.status === 403) expect(r.text).to.include('docker-sign:');
  });

  it('an all-tags pull (no tag) is denied', async () => {
    const r = await api('POST', `/v1.41/images/create?fromImage=${encodeURIComponent(`${process.env.DS_REGISTRY}/x/y`)}`);
    expect(r.status).to.equal(403);
    expect(r.text).to.include('pull of every tag');
  });
});
