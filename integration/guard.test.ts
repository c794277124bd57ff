import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callGuard } from '../plugins/guard/client.js';
import { makeKey, signRemote, unsignRemote, writeTrust, type TestTrust } from '../test/guard/support/signing.js';
import { closeConnections } from '../src/registry/index.js';

// End to end with a REAL second dockerd (own data/exec root and socket under /tmp/docker-sign-guard-<rand>, never
// the shared one) whose authorization plug-in is our guard, enabled the way a user does it:
// `docker sign guard install --daemon-json … --reload` (daemon.json + SIGHUP). The guard runs as a separate
// process (`docker sign guard serve`) on /run/docker/plugins/<unique name>.sock. Images go to DS_REGISTRY
// under a unique repository; one throwaway registry on a free port is stopped to show the registry-down deny.
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const R = randomBytes(3).toString('hex');
const NAME = `dsg${R}`;
const BASE = `/tmp/docker-sign-guard-${R}`;
const CFG = join(BASE, 'cfg');
const SOCK = `/run/docker/plugins/${NAME}.sock`;
const DOCKER_SOCK = join(BASE, 'dockerd', 'docker.sock');
const DOCKER_CFG = join(BASE, 'docker-config');

function reg(): string {
  const r = process.env.DS_REGISTRY;
  if (!r) throw new Error('DS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
  return r;
}

function docker(args: string[], timeoutMs = 120_000) {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, DOCKER_HOST: `unix://${DOCKER_SOCK}`, DOCKER_CONFIG: DOCKER_CFG } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function dsCli(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'docker-sign.js'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, DOCKER_SIGN_CONFIG: CFG } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function services(cmd: 'start' | 'stop') {
  const r = spawnSync('bash', [join(root, 'scripts', 'services.sh'), cmd, 'dockerd'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, DS_SERVICES_DIR: BASE, DS_DOCKERD_ARGS: '' } });
  if (r.status !== 0) throw new Error(`services.sh ${cmd} dockerd failed: ${r.stderr}`);
}

function buildImage(tag: string, text: string): string {
  const r = spawnSync('bash', [join(root, 'scripts', 'test-image.sh'), tag, text], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, DOCKER_HOST: `unix://${DOCKER_SOCK}`, DOCKER_CONFIG: DOCKER_CFG } });
  if (r.status !== 0) throw new Error(`test-image.sh ${tag}: ${r.stderr}`);
  return r.stdout.trim();
}

function pushDigest(tag: string): string {
  const r = docker(['push', tag]);
  const m = /digest: (sha256:[a-f0-9]{64})/.exec(r.out);
  if (r.status !== 0 || !m) throw new Error(`docker push ${tag}: ${r.out}`);
  return m[1];
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let guard: ChildProcess | undefined;
let guardLog = '';

async function startGuard(): Promise<void> {
  guard = spawn(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'guard', 'serve', '--config-dir', CFG, '--name', NAME, '--docker-host', `unix://${DOCKER_SOCK}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  guard.stderr!.on('data', (c) => (guardLog += c.toString()));
  await waitFor('the guard socket', async () => {
    try {
      return (await callGuard(SOCK, '/Plugin.Activate')).status === 200;
    } catch {
      return false;
    }
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** One raw Docker API request to the guarded engine (what a client other than the docker CLI can send). */
function api(method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body ?? '') };
    const req = httpRequest({ socketPath: DOCKER_SOCK, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body ?? '');
  });
}

function denied(r: { status: number | null; out: string }): string {
  expect(r.status, r.out).to.not.equal(0);
  expect(r.out).to.include(`authorization denied by plugin ${NAME}: docker-sign:`);
  return r.out;
}

describe('integration: guard (authz plug-in of a second dockerd)', function () {
  this.timeout(300_000);
  let trust: TestTrust;
  const repo = () => `${reg()}/guard-${R}/app`;
  const unsignedRepo = () => `${reg()}/guard-${R}/unsigned`;
  let signedDigest = '';
  let signatureDigest = '';
  let throwaway: ChildProcess | undefined;

  before(async () => {
    reg();
    if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build');
    mkdirSync(join(CFG, 'guard'), { recursive: true });
    mkdirSync(DOCKER_CFG, { recursive: true });
    trust = await makeKey(`guard-it-${R}`);
    writeTrust(CFG, trust, { policyName: 'guard-it' });
    // Long positive cache (so the revocation hook matters), no negative cache, a short deadline.
    writeFileSync(join(CFG, 'guard', 'config.json'), JSON.stringify({ cacheTtlMs: 600_000, denyCacheTtlMs: 0, timeoutMs: 3000, auditLog: join(BASE, 'audit.log') }));
    services('start');
    // images are built and pushed before the guard is enabled
    buildImage(`${repo()}:1`, `signed hello ${R}`);
    signedDigest = pushDigest(`${repo()}:1`);
    buildImage(`${unsignedRepo()}:1`, `unsigned hello ${R}`);
    pushDigest(`${unsignedRepo()}:1`);
    // a container of the unsigned image made before the guard: starting it later must be checked
    expect(docker(['create', '--name', `pre-${R}`, `${unsignedRepo()}:1`]).status).to.equal(0);
    await startGuard();
    const inst = dsCli(['guard', 'install', '--name', NAME, '--daemon-json', join(BASE, 'dockerd', 'daemon.json'), '--reload', '--pidfile', join(BASE, 'dockerd', 'pid'), '--spec-dir', join(BASE, 'spec'), '-o', 'json']);
    expect(inst.status, inst.stderr).to.equal(0);
    expect(JSON.parse(inst.stdout).authorizationPlugins).to.deep.equal([NAME]);
    // the reload is asynchronous in dockerd: wait until requests go through the guard
    await waitFor('dockerd to use the guard', () => docker(['pull', `${unsignedRepo()}:1`]).out.includes(`plugin ${NAME}`), 20_000);
  });

  after(async () => {
    try {
      services('stop');
    } catch {
      // keep cleaning up
    }
    guard?.kill('SIGTERM');
    throwaway?.kill('SIGTERM');
    await closeConnections();
    await new Promise((r) => setTimeout(r, 300));
    rmSync(BASE, { recursive: true, force: true });
    rmSync(SOCK, { force: true });
  });

  it('guard install enabled it (daemon.json + SIGHUP); guard status reports it running and enabled', () => {
    const r = dsCli(['guard', 'status', '--socket', SOCK, '--daemon-json', join(BASE, 'dockerd', 'daemon.json'), '-o', 'json']);
    expect(r.status, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout);
    // guard install saved the unique name in guard/config.json, so status checks that name
    expect(s).to.include({ name: NAME, running: true, implementsAuthz: true, enabledInDaemonJson: true });
    expect(JSON.parse(readFileSync(join(BASE, 'dockerd', 'daemon.json'), 'utf8'))['authorization-plugins']).to.deep.equal([NAME]);
    expect(s.stats.gated).to.be.greaterThan(0);
  });

  it('docker pull of an unsigned image is denied with the guard message (which check, which policy)', () => {
    docker(['rmi', '-f', `${unsignedRepo()}:1`]);
    const out = denied(docker(['pull', `${unsignedRepo()}:1`]));
    expect(out).to.include(`pull of ${unsignedRepo()}:1 denied`);
    expect(out).to.include('trust policy "guard-it"');
    expect(out).to.match(/no signature is associated/);
  });

  it('a container created before the guard: docker start and docker restart are both denied', () => {
    // (the test above removed the image with rmi -f: the stopped container still runs from its own layers)
    expect(denied(docker(['start', `pre-${R}`]))).to.match(/start of .* denied/);
    expect(denied(docker(['restart', `pre-${R}`]))).to.match(/start of .* denied/);
  });

  it('a create whose container turns out to run an unverified image (the name moved after the check) is removed at AuthZRes', async () => {
    const id = docker(['inspect', '-f', '{{.Id}}', `pre-${R}`]).out.trim();
    expect(id).to.match(/^[0-9a-f]{64}$/);
    // what dockerd sends after creating it: the request and the engine's 201 answer
    const body = JSON.stringify({ RequestMethod: 'POST', RequestUri: `/v1.41/containers/create?name=pre-${R}`, ResponseStatusCode: 201, ResponseBody: Buffer.from(JSON.stringify({ Id: id, Warnings: [] })).toString('base64') });
    const answer = await new Promise<{ Allow: boolean; Msg?: string }>((resolve, reject) => {
      const req = httpRequest({ socketPath: SOCK, method: 'POST', path: '/AuthZPlugin.AuthZRes', headers: { 'Content-Type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.Allow).to.equal(false);
    expect(answer.Msg).to.match(/name moved between the check and the create: container [0-9a-f]{12} removed/);
    expect(docker(['inspect', `pre-${R}`]).status).to.not.equal(0);
  });

  it('raw API tricks: a lookalike "image" member in containers/create, a form body overriding a pull\'s query', async () => {
    const c = await api('POST', '/v1.41/containers/create', JSON.stringify({ Image: `${repo()}@${signedDigest}`, image: `${unsignedRepo()}:1` }));
    expect(c.status).to.equal(403);
    expect(c.text).to.include('reads as \\"Image\\"');
    const q = `fromImage=${encodeURIComponent(repo())}&tag=${encodeURIComponent(signedDigest)}`;
    const p = await api('POST', `/v1.41/images/create?${q}`, `fromImage=${encodeURIComponent(unsignedRepo())}&tag=1`, 'application/x-www-form-urlencoded');
    expect(p.status).to.equal(403);
    expect(p.text).to.include('form-encoded');
  });

  it('docker run of an unsigned local image is denied at containers/create', () => {
    buildImage(`${unsignedRepo()}:local`, `unsigned local ${R}`);
    const out = denied(docker(['run', '--rm', `${unsignedRepo()}:local`]));
    expect(out).to.include('container create of');
    expect(out).to.include('no RepoDigests');
  });

  it('a signed image satisfying the policy: docker pull and docker run are allowed', async () => {
    signatureDigest = (await signRemote(`${repo()}@${signedDigest}`, trust)).signature;
    docker(['rmi', '-f', `${repo()}:1`]);
    const pull = docker(['pull', `${repo()}:1`]);
    expect(pull.status, pull.out).to.equal(0);
    expect(pull.out).to.include(signedDigest);
    const run = docker(['run', '--rm', `${repo()}:1`]);
    expect(run.status, run.out).to.equal(0);
    expect(run.stdout).to.include(`signed hello ${R}`);
    // docker run of an image that is not local: create (404) -> implicit pull (checked) -> create again
    docker(['rmi', '-f', `${repo()}:1`]);
    const implicit = docker(['run', '--rm', `${repo()}:1`]);
    expect(implicit.status, implicit.out).to.equal(0);
    expect(implicit.stdout).to.include(`signed hello ${R}`);
  });

  it('a moved tag is denied with "pull by digest"; the signed digest still pulls', () => {
    buildImage(`${repo()}:1`, `moved tag ${R}`);
    pushDigest(`${repo()}:1`);
    docker(['rmi', '-f', `${repo()}:1`]);
    const out = denied(docker(['pull', `${repo()}:1`]));
    expect(out).to.include('pull by digest');
    const byDigest = docker(['pull', `${repo()}@${signedDigest}`]);
    expect(byDigest.status, byDigest.out).to.equal(0);
    const run = docker(['run', '--rm', `${repo()}@${signedDigest}`]);
    expect(run.status, run.out).to.equal(0);
  });

  it('signature removed: still allowed from the verdict cache until the revocation hook invalidates it, then denied', async () => {
    await unsignRemote(repo(), signedDigest, signatureDigest);
    const cached = docker(['run', '--rm', `${repo()}@${signedDigest}`]);
    expect(cached.status, cached.out).to.equal(0);
    const inv = await callGuard(SOCK, '/DockerSign.Invalidate');
    expect(inv.body.Invalidated).to.be.greaterThan(0);
    const out = denied(docker(['run', '--rm', `${repo()}@${signedDigest}`]));
    expect(out).to.include('no signed manifest whose config is this image');
    denied(docker(['pull', `${repo()}@${signedDigest}`]));
  });

  it('a policy change denies again without restarting or invalidating anything', async () => {
    signatureDigest = (await signRemote(`${repo()}@${signedDigest}`, trust)).signature;
    expect(docker(['run', '--rm', `${repo()}@${signedDigest}`]).status).to.equal(0);
    writeTrust(CFG, trust, { policyName: 'guard-it-other', identities: ['x509.subject: C=US, ST=WA, O=Somebody Else, CN=not-you'] });
    await new Promise((r) => setTimeout(r, 1500)); // fs.watch is immediate; the stat poll runs every second
    const out = denied(docker(['run', '--rm', `${repo()}@${signedDigest}`]));
    expect(out).to.include('guard-it-other');
    expect(out).to.include('authenticity'); // the failing check is named
    writeTrust(CFG, trust, { policyName: 'guard-it' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(docker(['run', '--rm', `${repo()}@${signedDigest}`]).status).to.equal(0);
  });

  it('docker load is allowed (onLoad=allow) but the loaded image has no RepoDigests and is denied at run', () => {
    const tar = join(BASE, 'app.tar');
    expect(docker(['save', '-o', tar, `${repo()}@${signedDigest}`]).status).to.equal(0);
    const id = docker(['image', 'inspect', '-f', '{{.Id}}', `${repo()}@${signedDigest}`]).stdout.trim();
    expect(docker(['rmi', '-f', id]).status).to.equal(0);
    const load = docker(['load', '-i', tar]);
    expect(load.status, load.out).to.equal(0);
    const out = denied(docker(['run', '--rm', id]));
    expect(out).to.include('no RepoDigests');
  });

  it('verification that does not finish in time is denied with "timed out" (fail closed)', async () => {
    const sockets: Socket[] = [];
    const open = new Set<Socket>();
    const hang: Server = createServer((s) => { // accepts, never answers
      sockets.push(s);
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('end', () => s.destroy()); // the guard hung up
      s.resume(); // read (and ignore) the request, so the hang-up is seen
    });
    const port = await new Promise<number>((resolve) => hang.listen(0, '127.0.0.1', () => resolve((hang.address() as { port: number }).port)));
    try {
      const t0 = Date.now();
      const out = denied(docker(['pull', `127.0.0.1:${port}/slow/app:1`]));
      expect(out).to.include('timed out after 3000 ms');
      expect(Date.now() - t0).to.be.lessThan(20_000);
      // the guard cancelled its requests at the deadline: no connection to the registry is left waiting (this
      // process accepts them only now: spawnSync held its event loop)
      for (let i = 0; i < 20 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(sockets.length).to.be.greaterThan(0);
      for (let i = 0; i < 20 && open.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(open.size, 'registry connections the guard left open').to.equal(0);
    } finally {
      sockets.forEach((s) => s.destroy());
      hang.close();
    }
  });

  it('registry stopped: pulls and runs are denied with a clear reason', async () => {
    const port = await freePort();
    const dir = join(BASE, 'throwaway-registry');
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n  delete: {enabled: true}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    throwaway = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    await waitFor('the throwaway registry', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200;
      } catch {
        return false;
      }
    });
    const ref = `127.0.0.1:${port}/gone/app`;
    buildImage(`${ref}:1`, `throwaway ${R}`);
    const d = pushDigest(`${ref}:1`);
    await signRemote(`${ref}@${d}`, trust);
    docker(['rmi', '-f', `${ref}:1`]);
    const ok = docker(['pull', `${ref}:1`]);
    expect(ok.status, ok.out).to.equal(0);
    throwaway.kill('SIGTERM');
    await new Promise((r) => throwaway!.once('exit', r));
    throwaway = undefined;
    await callGuard(SOCK, '/DockerSign.Invalidate');
    const run = denied(docker(['run', '--rm', `${ref}:1`]));
    expect(run).to.match(/ECONNREFUSED|unreachable|connect/i);
    docker(['rmi', '-f', `${ref}:1`]);
    const pull = denied(docker(['pull', `${ref}:1`]));
    expect(pull).to.include('cannot resolve the tag at the registry');
    expect(pull).to.include('fail closed');
  });

  it('an image generated and signed locally (never pushed) may run: docker sign --local puts it in the local store', () => {
    const keyDir = join(BASE, 'key');
    mkdirSync(keyDir, { recursive: true });
    writeFileSync(join(keyDir, 'k.pem'), trust.key.keyPem);
    writeFileSync(join(keyDir, 'chain.pem'), trust.key.chainPem);
    const imp = dsCli(['key', 'import', 'guard-it', '--key', join(keyDir, 'k.pem'), '--cert', join(keyDir, 'chain.pem'), '--default']);
    expect(imp.status, imp.stderr).to.equal(0);
    const local = `${reg()}/guard-${R}/local:1`;
    buildImage(local, `local only ${R}`);
    denied(docker(['run', '--rm', local]));
    const env = { ...process.env, DOCKER_SIGN_CONFIG: CFG, DOCKER_HOST: `unix://${DOCKER_SOCK}`, DOCKER_CONFIG: DOCKER_CFG };
    const sign = spawnSync(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'sign', '--local', local], { encoding: 'utf8', timeout: 120_000, env });
    expect(sign.status, sign.stderr).to.equal(0);
    const run = docker(['run', '--rm', local]);
    expect(run.status, run.out).to.equal(0);
    expect(run.stdout).to.include(`local only ${R}`);
    const audit = readFileSync(join(BASE, 'audit.log'), 'utf8');
    expect(audit).to.include('in the local store has config');
  });

  it('every gated decision is in the audit log as a JSON line', () => {
    const lines = readFileSync(join(BASE, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const pulls = lines.filter((l) => l.kind === 'pull');
    expect(pulls.some((l) => l.allow === true && l.digest === signedDigest && l.policy === 'guard-it')).to.equal(true);
    expect(lines.some((l) => l.kind === 'create' && l.allow === false)).to.equal(true);
    for (const l of lines) expect(l).to.have.keys('time', 'method', 'uri', 'kind', 'allow', 'reason', 'durationMs', 'cached', ...Object.keys(l).filter((k) => ['image', 'digest', 'policy', 'user'].includes(k)));
  });

  it('guard killed: the engine refuses requests (fail closed)', async () => {
    guard!.kill('SIGKILL');
    await new Promise((r) => guard!.once('exit', r));
    guard = undefined;
    const t0 = Date.now();
    const r = docker(['pull', `${repo()}@${signedDigest}`], 120_000);
    expect(r.status, r.out).to.not.equal(0);
    expect(r.out).to.include(`plugin ${NAME} failed`);
    expect(Date.now() - t0).to.be.lessThan(110_000);
  });
});
