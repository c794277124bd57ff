import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { decide, decideCreateResponse, newCaches, type GuardDeps, type EngineImage, type VerifyOutcome } from '../../plugins/guard/decide.js';
import { VerdictCache } from '../../plugins/guard/cache.js';
import { AuditLog } from '../../plugins/guard/audit.js';
import { GuardServer } from '../../plugins/guard/server.js';
import { PolicyState, computePolicyHash } from '../../plugins/guard/policy-hash.js';

// Decision-logic tests: the engine and registry are in-memory tables here (the real ones are exercised by
// integration/guard.test.ts); what is under test is the routing, matching and caching of decide().
const ID = 'sha256:' + 'c'.repeat(64);
const OTHER_ID = 'sha256:' + 'd'.repeat(64);
const SIGNED = 'sha256:' + 'a'.repeat(64);
const UNSIGNED = 'sha256:' + 'b'.repeat(64);

interface World {
  images: Record<string, EngineImage>;
  tags: Record<string, string>;
  signed: Set<string>;
  configs: Record<string, string[]>;
  local: Record<string, VerifyOutcome>;
  calls: string[];
  hash: string;
  delayMs: number;
  clock: number;
  failRegistry?: string;
}

function world(): World {
  return {
    images: {
      'localhost:5000/app:1': { Id: ID, RepoDigests: [`localhost:5000/app@${SIGNED}`] },
      'localhost:5000/bad:1': { Id: OTHER_ID, RepoDigests: [`localhost:5000/bad@${UNSIGNED}`] },
      'built:1': { Id: OTHER_ID, RepoDigests: [] },
      'mismatch:1': { Id: OTHER_ID, RepoDigests: [`localhost:5000/app@${SIGNED}`] },
    },
    tags: { 'localhost:5000/app:1': SIGNED, 'localhost:5000/app:moved': UNSIGNED },
    signed: new Set([`localhost:5000/app@${SIGNED}`]),
    configs: { [`localhost:5000/app@${SIGNED}`]: [ID] },
    local: {},
    calls: [],
    hash: 'sha256:p1',
    delayMs: 0,
    clock: 1_000_000,
  };
}

function depsOf(w: World): GuardDeps {
  const wait = (signal: AbortSignal) =>
    w.delayMs > 0 ? new Promise<void>((res, rej) => {
      const t = setTimeout(res, w.delayMs);
      signal.addEventListener('abort', () => { clearTimeout(t); rej(new Error('aborted')); });
    }) : Promise.resolve();
  return {
    async inspectImage(ref) { w.calls.push(`inspect ${ref}`); return w.images[ref] ?? (ref === ID ? w.images['localhost:5000/app:1'] : null); },
    async containerImage(id) { w.calls.push(`container ${id}`); return id === 'c1' ? ID : id === 'orphan' ? UNSIGNED : id === 'evil' ? OTHER_ID : null; },
    async removeContainer(id) { w.calls.push(`remove ${id}`); },
    async resolveTag(ref, signal) {
      w.calls.push(`resolve ${ref.registry}/${ref.repository}:${ref.tag}`);
      await wait(signal);
      if (w.failRegistry) throw new Error(w.failRegistry);
      const d = w.tags[`${ref.registry}/${ref.repository}:${ref.tag}`];
      if (!d) throw new Error('manifest unknown');
      return d;
    },
    async verify(reference, signal) {
      w.calls.push(`verify ${reference}`);
      await wait(signal);
      if (w.failRegistry) throw new Error(w.failRegistry);
      const ok = w.signed.has(reference);
      return { verified: ok, digest: reference.split('@')[1], policy: 'default', level: 'strict', reason: ok ? 'ok' : 'no signature found' };
    },
    async configDigests(reference) { w.calls.push(`config ${reference}`); return w.configs[reference] ?? []; },
    async verifyLocal(imageId) { w.calls.push(`local ${imageId}`); return w.local[imageId] ?? null; },
    async policyHash() { return w.hash; },
    now: () => w.clock,
  };
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
const pull = (image: string, tag: string) => ({ RequestMethod: 'POST', RequestUri: `/v1.41/images/create?fromImage=${encodeURIComponent(image)}&tag=${encodeURIComponent(tag)}` });
const create = (image: string) => ({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create', RequestBody: b64({ Image: image }) });

describe('guard: decide()', () => {
  it('allows unrelated requests without touching any dependency', async () => {
    const w = world();
    const d = await decide({ RequestMethod: 'HEAD', RequestUri: '/_ping' }, depsOf(w));
    expect(d.allow).to.equal(true);
    expect(w.calls).to.deep.equal([]);
  });

  it('pull by tag: resolves at the registry, verifies the digest, allows a signed one', async () => {
    const w = world();
    const d = await decide(pull('localhost:5000/app', '1'), depsOf(w));
    expect(d.allow, d.msg).to.equal(true);
    expect(d.digest).to.equal(SIGNED);
    expect(w.calls).to.deep.equal(['resolve localhost:5000/app:1', `verify localhost:5000/app@${SIGNED}`]);
  });

  it('pull by digest: no tag resolution', async () => {
    const w = world();
    const d = await decide(pull('localhost:5000/app', SIGNED), depsOf(w));
    expect(d.allow).to.equal(true);
    expect(w.calls).to.deep.equal([`verify localhost:5000/app@${SIGNED}`]);
  });

  it('pull of a moved tag: denied, names the policy and says to pull by digest', async () => {
    const d = await decide(pull('localhost:5000/app', 'moved'), depsOf(world()));
    expect(d.allow).to.equal(false);
    expect(d.msg).to.match(/^docker-sign: pull of localhost:5000\/app:moved denied/);
    expect(d.msg).to.include('trust policy "default"');
    expect(d.msg).to.include('pull by digest');
    expect(d.msg).to.include(UNSIGNED);
  });

  it('all-tags pull and invalid references are denied', async () => {
    const deps = depsOf(world());
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/images/create?fromImage=localhost%3A5000%2Fapp' }, deps)).allow).to.equal(false);
    expect((await decide(pull('UPPER/Case', '1'), deps)).allow).to.equal(false);
    expect((await decide(pull('localhost:5000/app', 'bad tag!'), deps)).allow).to.equal(false);
  });

  it('pullByDigestOnly denies tag pulls with the pull-by-digest hint', async () => {
    const d = await decide(pull('localhost:5000/app', '1'), depsOf(world()), { pullByDigestOnly: true });
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('pull by digest');
  });

  it('registry unreachable: deny with the reason (fail closed)', async () => {
    const w = world();
    w.failRegistry = 'connect ECONNREFUSED 127.0.0.1:5999';
    const d = await decide(pull('localhost:5000/app', '1'), depsOf(w));
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('ECONNREFUSED').and.include('fail closed');
  });

  it('verification over the deadline: deny "timed out"', async () => {
    const w = world();
    w.delayMs = 500;
    const t0 = Date.now();
    const d = await decide(pull('localhost:5000/app', SIGNED), depsOf(w), { timeoutMs: 50 });
    expect(Date.now() - t0).to.be.lessThan(400);
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('timed out after 50 ms');
  });

  it('create: allowed when a RepoDigest is signed and its config digest is the local Id', async () => {
    const w = world();
    const d = await decide(create('localhost:5000/app:1'), depsOf(w));
    expect(d.allow, d.msg).to.equal(true);
    expect(w.calls).to.include(`config localhost:5000/app@${SIGNED}`);
  });

  it('create: a signed manifest whose config is a different image does not count', async () => {
    const d = await decide(create('mismatch:1'), depsOf(world()));
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('config digest is not the local image');
  });

  it('create with the containerd image store (Id = the pulled manifest digest): the signed RepoDigest is the image', async () => {
    const w = world();
    w.images['cd:1'] = { Id: SIGNED, RepoDigests: [`localhost:5000/app@${SIGNED}`] };
    w.images['cd-unsigned:1'] = { Id: UNSIGNED, RepoDigests: [`localhost:5000/bad@${UNSIGNED}`] };
    const d = await decide(create('cd:1'), depsOf(w));
    expect(d.allow, d.msg).to.equal(true);
    expect(d.reason).to.equal(`signed manifest localhost:5000/app@${SIGNED} is the image (containerd image store)`);
    expect(w.calls).to.not.include(`config localhost:5000/app@${SIGNED}`); // nothing to look up: the digest is the Id
    const u = await decide(create('cd-unsigned:1'), depsOf(w));
    expect(u.allow).to.equal(false);
    expect(u.msg).to.include('no signature found');
    // a signed RepoDigest of another repository with the same digest is still that image; another digest is not
    w.images['cd-other:1'] = { Id: SIGNED, RepoDigests: [`localhost:5000/bad@${UNSIGNED}`] };
    expect((await decide(create('cd-other:1'), depsOf(w), { denyCacheTtlMs: 0 })).allow).to.equal(false);
  });

  it('create: unsigned RepoDigest -> denied with the reason', async () => {
    const d = await decide(create('localhost:5000/bad:1'), depsOf(world()));
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('no signature found');
  });

  it('create: locally built image (no RepoDigests) denied unless the local store has a signature', async () => {
    const w = world();
    let d = await decide(create('built:1'), depsOf(w));
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('no RepoDigests');
    w.local[OTHER_ID] = { verified: true, digest: SIGNED, policy: 'default' };
    d = await decide(create('built:1'), depsOf(w), { denyCacheTtlMs: 0 });
    expect(d.allow, d.msg).to.equal(true);
    expect(d.reason).to.include('local store');
    d = await decide(create('built:1'), depsOf(w), { localStore: false });
    expect(d.allow).to.equal(false);
  });

  it('create: missing or garbled body -> deny', async () => {
    const deps = depsOf(world());
    let d = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create', RequestHeaders: { 'Content-Length': '1100058' } }, deps);
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('not forwarded');
    d = await decide({ RequestMethod: 'POST', RequestUri: '/containers/create', RequestBody: 'garbage!!' }, deps);
    expect(d.allow).to.equal(false);
  });

  it('create: image not present locally -> allow (the pull is gated)', async () => {
    const d = await decide(create('nothere:1'), depsOf(world()));
    expect(d.allow).to.equal(true);
  });

  it('start: re-checks the image of the container', async () => {
    const w = world();
    const d = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/c1/start' }, depsOf(w));
    expect(d.allow, d.msg).to.equal(true);
    expect(w.calls[0]).to.equal('container c1');
    const off = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/c1/start' }, depsOf(w), { checkStart: false });
    expect(off.allow).to.equal(true);
  });

  it('build/load/import/commit/push follow their configured policy', async () => {
    const deps = depsOf(world());
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/build?t=x' }, deps)).allow).to.equal(true);
    const d = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/build?t=x' }, deps, { onBuild: 'deny' });
    expect(d.allow).to.equal(false);
    expect(d.msg).to.include('onBuild=deny');
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/images/load' }, deps, { onLoad: 'deny' })).allow).to.equal(false);
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/images/create?fromSrc=-' }, deps, { onImport: 'deny' })).allow).to.equal(false);
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/commit?container=a' }, deps, { onCommit: 'deny' })).allow).to.equal(false);
    // onBuild=deny also closes BuildKit's endpoints; plug-ins and swarm services are denied unless allowed
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/grpc' }, deps, { onBuild: 'deny' })).allow).to.equal(false);
    const plug = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/plugins/create?name=p' }, deps);
    expect(plug.allow).to.equal(false);
    expect(plug.msg).to.include('onPlugin=deny');
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/plugins/create?name=p' }, deps, { onPlugin: 'allow' })).allow).to.equal(true);
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/services/create' }, deps)).allow).to.equal(false);
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/services/create' }, deps, { onService: 'allow' })).allow).to.equal(true);
  });

  it('restart is checked like start (it starts a created or stopped container)', async () => {
    const w = world();
    const d = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/c1/restart?t=10' }, depsOf(w));
    expect(w.calls[0]).to.equal('container c1');
    expect(d.kind).to.equal('start');
    expect(d.allow, d.msg).to.equal(true);
    // a container whose image record is gone (docker rmi -f) still runs from its layers: nothing to verify, deny
    const orphan = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/orphan/restart' }, depsOf(world()));
    expect(orphan.allow).to.equal(false);
    expect(orphan.msg).to.match(/no longer in the engine/);
  });

  it('rename: a name may only move to a container whose image verifies (else a start by name could be swapped)', async () => {
    const w = world();
    w.images[OTHER_ID] = w.images['localhost:5000/bad:1']!;
    const bad = await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/evil/rename?name=good' }, depsOf(w));
    expect(bad.allow).to.equal(false);
    expect(bad.kind).to.equal('rename');
    expect(bad.msg).to.match(/container rename of/);
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/c1/rename?name=tmp' }, depsOf(world()))).allow).to.equal(true);
  });

  it('create response: the container\'s own image is checked (the name may have moved); unverified -> removed and denied', async () => {
    const res = (id: string, status = 201) => ({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create?name=x', ResponseStatusCode: status, ResponseBody: b64({ Id: id, Warnings: [] }) });
    const w = world();
    w.images[OTHER_ID] = w.images['localhost:5000/bad:1']!;
    const d = await decideCreateResponse(res('evil'), depsOf(w));
    expect(d?.allow).to.equal(false);
    expect(d?.msg).to.match(/name moved between the check and the create: container evil removed/);
    expect(w.calls).to.include('remove evil');
    const ok = await decideCreateResponse(res('c1'), depsOf(world()));
    expect(ok?.allow, ok?.msg).to.equal(true);
    expect(await decideCreateResponse({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/c1/start', ResponseStatusCode: 204 }, depsOf(world()))).to.equal(null);
    expect(await decideCreateResponse(res('evil', 404), depsOf(world()))).to.equal(null);
    const garbled = await decideCreateResponse({ ...res('x'), ResponseBody: 'not json' }, depsOf(world()));
    expect(garbled?.allow).to.equal(false);
  });

  it('a form-encoded body (it overrides the query in dockerd) is denied on gated endpoints', async () => {
    const w = world();
    const form = { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const d = await decide({ ...pull('localhost:5000/app', SIGNED), RequestHeaders: form, RequestBody: Buffer.from('fromImage=localhost:5000/bad&tag=1').toString('base64') }, depsOf(w));
    expect(d.allow).to.equal(false);
    expect(d.msg).to.match(/form-encoded/);
    expect(w.calls).to.deep.equal([]);
    for (const h of [{ 'content-type': 'Application/X-WWW-Form-Urlencoded' }]) {
      expect((await decide({ ...create('localhost:5000/app:1'), RequestHeaders: h }, depsOf(world()))).allow).to.equal(false);
    }
    // the same pull without it is judged normally, and ungated requests do not care
    expect((await decide(pull('localhost:5000/app', SIGNED), depsOf(world()))).allow).to.equal(true);
    expect((await decide({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/x/wait', RequestHeaders: form }, depsOf(world()))).allow).to.equal(true);
  });
});

describe('guard: verdict cache', () => {
  it('second identical decision is served from the cache (no verify call)', async () => {
    const w = world();
    const caches = newCaches();
    await decide(pull('localhost:5000/app', SIGNED), depsOf(w), {}, caches);
    w.calls.length = 0;
    const d = await decide(pull('localhost:5000/app', SIGNED), depsOf(w), {}, caches);
    expect(d.allow).to.equal(true);
    expect(d.cached).to.equal(true);
    expect(w.calls).to.deep.equal([]);
  });

  it('a policy-hash change makes cached verdicts unreachable', async () => {
    const w = world();
    const caches = newCaches();
    await decide(pull('localhost:5000/app', SIGNED), depsOf(w), {}, caches);
    w.signed.clear();
    w.hash = 'sha256:p2';
    const d = await decide(pull('localhost:5000/app', SIGNED), depsOf(w), {}, caches);
    expect(d.allow).to.equal(false);
    expect(d.cached).to.equal(undefined);
  });

  it('entries expire after the TTL; denials use the shorter deny TTL', async () => {
    const w = world();
    const caches = newCaches();
    await decide(pull('localhost:5000/app', SIGNED), depsOf(w), { cacheTtlMs: 1000 }, caches);
    w.signed.clear();
    w.clock += 999;
    expect((await decide(pull('localhost:5000/app', SIGNED), depsOf(w), { cacheTtlMs: 1000 }, caches)).allow).to.equal(true);
    w.clock += 2;
    expect((await decide(pull('localhost:5000/app', SIGNED), depsOf(w), { cacheTtlMs: 1000, denyCacheTtlMs: 100 }, caches)).allow).to.equal(false);
    w.signed.add(`localhost:5000/app@${SIGNED}`);
    w.clock += 50;
    expect((await decide(pull('localhost:5000/app', SIGNED), depsOf(w), { denyCacheTtlMs: 100 }, caches)).allow).to.equal(false);
    w.clock += 51;
    expect((await decide(pull('localhost:5000/app', SIGNED), depsOf(w), { denyCacheTtlMs: 100 }, caches)).allow).to.equal(true);
  });

  it('errors are never cached', async () => {
    const w = world();
    const caches = newCaches();
    w.failRegistry = 'boom';
    expect((await decide(pull('localhost:5000/app', SIGNED), depsOf(w), {}, caches)).allow).to.equal(false);
    w.failRegistry = undefined;
    expect((await decide(pull('localhost:5000/app', SIGNED), depsOf(w), {}, caches)).allow).to.equal(true);
  });

  it('create verdicts are keyed by image Id + RepoDigests (a new RepoDigest is a new key)', async () => {
    const w = world();
    const caches = newCaches();
    expect((await decide(create('built:1'), depsOf(w), {}, caches)).allow).to.equal(false);
    w.images['built:1'] = { Id: OTHER_ID, RepoDigests: [`localhost:5000/app@${SIGNED}`] };
    w.configs[`localhost:5000/app@${SIGNED}`] = [ID, OTHER_ID];
    expect((await decide(create('built:1'), depsOf(w), {}, caches)).allow).to.equal(true);
  });

  it('VerdictCache.invalidate drops everything; key includes the policy hash', () => {
    const c = new VerdictCache<number>();
    c.set(VerdictCache.key(['a'], 'h1'), 1, 1000, 0);
    expect(c.get(VerdictCache.key(['a'], 'h1'), 1)).to.equal(1);
    expect(c.get(VerdictCache.key(['a'], 'h2'), 1)).to.equal(undefined);
    expect(c.invalidate()).to.equal(1);
    expect(c.get(VerdictCache.key(['a'], 'h1'), 1)).to.equal(undefined);
  });
});

describe('guard: policy hash', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ds-guard-ph-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('changes when trustpolicy.json or a trust store certificate changes; PolicyState notices', async () => {
    const files = { trustPolicy: join(dir, 'trustpolicy.json'), trustPolicyOci: join(dir, 'trustpolicy.oci.json'), trustStore: join(dir, 'truststore') };
    writeFileSync(files.trustPolicy, '{"version":"1.0","trustPolicies":[]}');
    mkdirSync(join(files.trustStore, 'x509', 'ca', 'acme'), { recursive: true });
    const h1 = await computePolicyHash(files);
    const st = new PolicyState(files, 50);
    expect(await st.start()).to.equal(h1);
    writeFileSync(join(files.trustStore, 'x509', 'ca', 'acme', 'root.crt'), 'CERT');
    const h2 = await computePolicyHash(files);
    expect(h2).to.not.equal(h1);
    for (let i = 0; i < 40 && st.peek !== h2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await st.current()).to.equal(h2);
    writeFileSync(files.trustPolicy, '{"version":"1.0","trustPolicies":[{}]}');
    const h3 = await computePolicyHash(files);
    for (let i = 0; i < 40 && st.peek !== h3; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await st.current()).to.equal(h3);
    st.stop();
  });
});

function post(socketPath: string, path: string, body: unknown): Promise<{ status: number; json: any; contentType: string }> {
  return new Promise((resolve, reject) => {
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    const req = request({ socketPath, path, method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/vnd.docker.plugins.v1.2+json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()), contentType: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('guard: plug-in HTTP server + audit log', () => {
  let dir: string;
  let server: GuardServer;
  let audit: AuditLog;
  let w: World;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-guard-srv-'));
    w = world();
    audit = new AuditLog(join(dir, 'audit.log'));
    server = new GuardServer({ socket: join(dir, 'g.sock'), deps: depsOf(w), options: { ...(await import('../../plugins/guard/decide.js')).DEFAULT_DECIDE_OPTIONS }, audit });
    await server.start();
  });
  afterEach(async () => {
    await server.close();
    await audit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers Activate, AuthZReq and AuthZRes in the plug-in protocol', async () => {
    const a = await post(server.socket, '/Plugin.Activate', '');
    expect(a.json).to.deep.equal({ Implements: ['authz'] });
    expect(a.contentType).to.equal('application/vnd.docker.plugins.v1+json');
    expect((await post(server.socket, '/AuthZPlugin.AuthZReq', { RequestMethod: 'HEAD', RequestUri: '/_ping' })).json).to.deep.equal({ Allow: true });
    const denied = await post(server.socket, '/AuthZPlugin.AuthZReq', pull('localhost:5000/app', 'moved'));
    expect(denied.json.Allow).to.equal(false);
    expect(denied.json.Msg).to.include('pull by digest');
    expect((await post(server.socket, '/AuthZPlugin.AuthZRes', { ...pull('localhost:5000/app', 'moved'), ResponseStatusCode: 200 })).json).to.deep.equal({ Allow: true });
  });

  it('malformed AuthZReq JSON -> deny, not an error', async () => {
    const r = await post(server.socket, '/AuthZPlugin.AuthZReq', '{nope');
    expect(r.status).to.equal(200);
    expect(r.json.Allow).to.equal(false);
  });

  it('writes one audit JSON line per gated decision (not for _ping)', async () => {
    await post(server.socket, '/AuthZPlugin.AuthZReq', { RequestMethod: 'HEAD', RequestUri: '/_ping' });
    await post(server.socket, '/AuthZPlugin.AuthZReq', pull('localhost:5000/app', '1'));
    await post(server.socket, '/AuthZPlugin.AuthZReq', create('localhost:5000/bad:1'));
    await audit.close();
    const lines = readFileSync(join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).to.have.length(2);
    expect(lines[0]).to.include({ kind: 'pull', allow: true, digest: SIGNED, policy: 'default', method: 'POST' });
    expect(lines[0].uri).to.include('images/create');
    expect(lines[0].durationMs).to.be.a('number');
    expect(new Date(lines[0].time).getTime()).to.be.greaterThan(0);
    expect(lines[1]).to.include({ kind: 'create', allow: false, image: 'localhost:5000/bad:1' });
    expect(lines[1].reason).to.include('no signature found');
  });

  it('invalidate endpoint drops cached verdicts', async () => {
    await post(server.socket, '/AuthZPlugin.AuthZReq', pull('localhost:5000/app', SIGNED));
    w.signed.clear();
    expect((await post(server.socket, '/AuthZPlugin.AuthZReq', pull('localhost:5000/app', SIGNED))).json.Allow).to.equal(true);
    const inv = await post(server.socket, '/DockerSign.Invalidate', '');
    expect(inv.json.Invalidated).to.be.greaterThan(0);
    expect((await post(server.socket, '/AuthZPlugin.AuthZReq', pull('localhost:5000/app', SIGNED))).json.Allow).to.equal(false);
  });

  it('refuses to start on a socket another guard is serving, replaces a stale one', async () => {
    const second = new GuardServer({ socket: server.socket, deps: depsOf(w), options: (await import('../../plugins/guard/decide.js')).DEFAULT_DECIDE_OPTIONS });
    let err: Error | undefined;
    try { await second.start(); } catch (e) { err = e as Error; }
    expect(err?.message).to.include('already serving');
  });
});
