// Bearer-token auth end to end: the test starts its own Distribution 2.8 (`docker-registry serve`, from a
// config + start script it writes into a temp dir) configured with `auth: token` (realm/service/issuer/
// rootcertbundle), and a small real token server (node http) that checks basic credentials and issues ES256 JWTs
// whose x5c header carries the self-signed certificate listed in the registry's rootcertbundle.
import { expect } from 'chai';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRepository, closeConnections, type RemoteRepository } from '../src/registry/index.js';
import { repoName, makeImage, blobOf, freePort, expectCode } from './registry.helpers.js';

const SERVICE = 'ds-test-registry';
const ISSUER = 'ds-test-issuer';
const USERS: Record<string, { password: string; actions: string[]; ttl: number }> = {
  alice: { password: 'alice-pw', actions: ['pull', 'push', 'delete'], ttl: 300 },
  reader: { password: 'reader-pw', actions: ['pull'], ttl: 300 },
  brief: { password: 'brief-pw', actions: ['pull', 'push'], ttl: 2 },
};

interface TokenRequest {
  user?: string;
  service: string | null;
  scopes: string[];
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

describe('registry client with bearer-token auth (own Distribution 2.8 + token server)', function () {
  this.timeout(120_000);
  let dir: string;
  let registry: ChildProcess | undefined;
  let tokenServer: Server;
  let REG: string;
  let tokenRequests: TokenRequest[];

  function issue(user: string | undefined, scopes: string[]): { token: string; ttl: number } {
    const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
    const u = user ? USERS[user] : undefined;
    const access = scopes
      .map((s) => /^repository:(.+):([a-z,*]+)$/.exec(s))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ type: 'repository', name: m[1]!, actions: m[2]!.split(',').filter((a) => u?.actions.includes(a)) }));
    const now = Math.floor(Date.now() / 1000);
    const ttl = u?.ttl ?? 300;
    const header = { typ: 'JWT', alg: 'ES256', x5c: [cert.raw.toString('base64')] };
    const claims = { iss: ISSUER, sub: user ?? '', aud: SERVICE, exp: now + ttl, nbf: now - 5, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return { token: `${input}.${b64url(sig)}`, ttl };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-token-it-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'),
      '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=docker-sign test token signer'], { stdio: 'pipe' });
    const [tport, rport] = [await freePort(), await freePort()];
    tokenRequests = [];
    tokenServer = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname !== '/token') {
        res.writeHead(404);
        res.end();
        return;
      }
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith('Basic ')) {
        const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (!u || USERS[u]?.password !== p) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token server: invalid username or password' }] }));
          return;
        }
        user = u;
      }
      const scopes = url.searchParams.getAll('scope');
      tokenRequests.push({ user, service: url.searchParams.get('service'), scopes });
      const { token, ttl } = issue(user, scopes);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() }));
    });
    await new Promise<void>((r) => tokenServer.listen(tport, '127.0.0.1', () => r()));
    REG = `127.0.0.1:${rport}`;
    writeFileSync(join(dir, 'config.yml'), `version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: ${join(dir, 'data')}}
  delete: {enabled: true}
http:
  addr: ${REG}
  secret: ds-token-test-${randomBytes(4).toString('hex')}
auth:
  token:
    realm: http://127.0.0.1:${tport}/token
    service: ${SERVICE}
    issuer: ${ISSUER}
    rootcertbundle: ${join(dir, 'cert.pem')}
`);
    writeFileSync(join(dir, 'start.sh'), `#!/bin/sh\nexec docker-registry serve "${join(dir, 'config.yml')}" >"${join(dir, 'registry.log')}" 2>&1\n`);
    chmodSync(join(dir, 'start.sh'), 0o755);
    registry = spawn(join(dir, 'start.sh'), [], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await fetch(`http://${REG}/v2/`);
        await r.arrayBuffer();
        if (r.status === 401 && (r.headers.get('www-authenticate') ?? '').startsWith('Bearer')) break;
      } catch {
        /* not up yet */
      }
      if (registry.exitCode !== null || Date.now() > deadline) {
        throw new Error(`token-auth registry did not start: ${readFileSync(join(dir, 'registry.log'), 'utf8').slice(-2000)}`);
      }
      await sleep(100);
    }
  });

  after(async () => {
    await closeConnections();
    if (registry && registry.exitCode === null) {
      registry.kill('SIGTERM');
      await new Promise((r) => registry!.once('exit', r));
    }
    await new Promise<void>((r) => tokenServer.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function roundTrip(repo: RemoteRepository): Promise<void> {
    const img = makeImage([1500, 2500]);
    for (const b of [img.config, ...img.layers]) await repo.pushBlob(b.desc, b.bytes);
    await repo.pushManifest(img.manifest.desc, img.manifest.bytes, 'v1');
    expect((await repo.fetchManifest('v1')).bytes.equals(img.manifest.bytes)).to.equal(true);
    for (const l of img.layers) expect((await repo.fetchBlob(l.desc)).equals(l.bytes)).to.equal(true);
  }

  it('answers the Bearer challenge at the realm with service, scope and basic credentials, and reuses the token', async () => {
    const name = repoName('bearer');
    const repo = openRepository(`${REG}/${name}`, { credentials: { username: 'alice', password: 'alice-pw' } });
    await roundTrip(repo); // ~12 registry requests
    expect(tokenRequests.length).to.be.within(1, 3);
    for (const t of tokenRequests) {
      expect(t.user).to.equal('alice');
      expect(t.service).to.equal(SERVICE);
    }
    expect(tokenRequests.flatMap((t) => t.scopes)).to.include(`repository:${name}:pull,push`);
    const before = tokenRequests.length;
    await repo.fetchManifest('v1');
    await repo.resolve('v1');
    await repo.tags();
    expect(tokenRequests.length - before).to.be.at.most(1);
    const again = tokenRequests.length;
    await repo.fetchManifest('v1');
    expect(tokenRequests.length).to.equal(again);
  });

  it('requests challenged at the same time share one token request', async () => {
    const name = repoName('together');
    const alice = { username: 'alice', password: 'alice-pw' };
    const seed = openRepository(`${REG}/${name}`, { credentials: alice });
    await roundTrip(seed);
    const repo = openRepository(`${REG}/${name}`, { credentials: alice });
    tokenRequests.length = 0;
    await Promise.all([repo.fetchManifest('v1'), repo.resolve('v1'), repo.fetchManifest('v1')]);
    expect(tokenRequests).to.have.length(1);
  });

  it('mount asks for pull on the source repository in the same token', async () => {
    const alice = { username: 'alice', password: 'alice-pw' };
    const src = openRepository(`${REG}/${repoName('bsrc')}`, { credentials: alice });
    const dst = openRepository(`${REG}/${repoName('bdst')}`, { credentials: alice });
    const b = blobOf(randomBytes(4096));
    await src.pushBlob(b.desc, b.bytes);
    tokenRequests.length = 0;
    expect(await dst.mountBlob(b.desc, src.repository)).to.equal('mounted');
    expect(tokenRequests.some((t) => t.scopes.includes(`repository:${src.repository}:pull`) && t.scopes.includes(`repository:${dst.repository}:pull,push`))).to.equal(true);
    expect((await dst.fetchBlob(b.desc)).equals(b.bytes)).to.equal(true);
  });

  it('re-fetches the token after expires_in', async () => {
    const repo = openRepository(`${REG}/${repoName('expiry')}`, { credentials: { username: 'brief', password: 'brief-pw' } });
    await roundTrip(repo);
    const n = tokenRequests.length;
    await repo.fetchManifest('v1');
    expect(tokenRequests.length).to.equal(n);
    await sleep(2200);
    await repo.fetchManifest('v1');
    expect(tokenRequests.length).to.equal(n + 1);
  });

  it('wrong password: UNAUTHORIZED with the token server message', async () => {
    const repo = openRepository(`${REG}/${repoName('wrong')}`, { credentials: { username: 'alice', password: 'nope' } });
    const e = await expectCode(repo.fetchManifest('v1'), 'UNAUTHORIZED');
    expect(e.message).to.contain('invalid username or password');
  });

  it('anonymous token without access: UNAUTHORIZED with the registry message; pull-only user pushing: DENIED', async () => {
    const anon = openRepository(`${REG}/${repoName('anon')}`, { credentials: null });
    const e = await expectCode(anon.fetchManifest('v1'), 'UNAUTHORIZED');
    expect(e.message).to.match(/authentication required|insufficient/i);
    expect(e.hint).to.contain('docker login');
    const reader = openRepository(`${REG}/${repoName('ro')}`, { credentials: { username: 'reader', password: 'reader-pw' } });
    const b = blobOf(randomBytes(100));
    const d = await expectCode(reader.pushBlob(b.desc, b.bytes), 'DENIED');
    expect(d.hint).to.contain('pull,push');
  });
});
