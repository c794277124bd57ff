import { expect } from 'chai';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { openRepository, closeConnections, RegistryError, type RemoteRepository } from '../../src/registry/index.js';
import { EXIT } from '../../src/errors.js';
import { MAX_MANIFEST_BYTES } from '../../src/oci/descriptor.js';

/**
 * RemoteRepository against a small misbehaving registry (a real HTTP server on loopback): every byte it serves
 * must be checked, bad answers must become typed errors. Well-behaved registries are covered by integration/.
 */
type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

const sha = (b: Buffer | string): `sha256:${string}` => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MT = 'application/vnd.oci.image.manifest.v1+json';

describe('registry/repository against a misbehaving server', () => {
  let server: Server;
  let other: Server;
  let host: string;
  let otherHost: string;
  let routes: Map<string, Handler>;
  let log: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  let otherLog: { url: string; headers: IncomingMessage['headers'] }[];

  const good = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 }, layers: [] }));
  const goodDesc = { mediaType: MT, digest: sha(good), size: good.length };
  const blob = Buffer.from('the real blob content');
  const blobDesc = { mediaType: 'application/octet-stream', digest: sha(blob), size: blob.length };

  function route(method: string, path: string, h: Handler): void {
    routes.set(`${method} ${path}`, h);
  }
  function repo(name = 'app'): RemoteRepository {
    return openRepository(`${host}/${name}`, { credentials: null, timeoutMs: 5000 });
  }
  async function fails(p: Promise<unknown>, code: string): Promise<RegistryError> {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e, `expected ${code}`).to.be.instanceOf(Error);
    expect((e as RegistryError).code, (e as Error).message).to.equal(code);
    return e as RegistryError;
  }

  before(async () => {
    const mk = (onReq: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<Server> =>
      new Promise((resolve) => {
        const s = createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => onReq(req, res, Buffer.concat(chunks)));
        });
        s.listen(0, '127.0.0.1', () => resolve(s));
      });
    server = await mk((req, res, body) => {
      log.push({ method: req.method!, url: req.url!, headers: req.headers });
      const h = routes.get(`${req.method} ${req.url!.split('?')[0]}`);
      if (h) h(req, res, body);
      else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"nothing here"}]}');
      }
    });
    other = await mk((req, res) => {
      otherLog.push({ url: req.url!, headers: req.headers });
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    });
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    otherHost = `127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    routes = new Map();
    log = [];
    otherLog = [];
  });
  after(async () => {
    await closeConnections();
    server.close();
    other.close();
  });

  it('always sends the OCI + Docker Accept headers for manifests and returns verified content', async () => {
    route('GET', '/v2/app/manifests/v1', (_q, res) => {
      res.writeHead(200, { 'content-type': MT, 'docker-content-digest': goodDesc.digest });
      res.end(good);
    });
    const m = await repo().fetchManifest('v1');
    expect(m.descriptor).to.deep.equal(goodDesc);
    const accept = String(log[0]!.headers.accept);
    for (const t of [MT, 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json']) {
      expect(accept).to.contain(t);
    }
  });

  it('rejects a tag whose Docker-Content-Digest does not match the body', async () => {
    route('GET', '/v2/app/manifests/v1', (_q, res) => {
      res.writeHead(200, { 'content-type': MT, 'docker-content-digest': sha('something else') });
      res.end(good);
    });
    const e = await fails(repo().fetchManifest('v1'), 'DIGEST_MISMATCH');
    expect(e.exitCode).to.equal(EXIT.VERIFICATION_FAILED);
  });

  it('rejects a manifest fetched by digest whose bytes hash differently', async () => {
    route('GET', `/v2/app/manifests/${goodDesc.digest}`, (_q, res) => {
      const tampered = Buffer.from(good.toString().replace('"layers":[]', '"layers": []'));
      res.writeHead(200, { 'content-type': MT, 'docker-content-digest': goodDesc.digest });
      res.end(tampered);
    });
    await fails(repo().fetchManifest(goodDesc), 'DIGEST_MISMATCH');
    await fails(repo().fetchManifest(goodDesc.digest), 'DIGEST_MISMATCH');
  });

  it('rejects non-JSON manifests, schema 1 and oversize bodies (with or without Content-Length)', async () => {
    route('GET', '/v2/app/manifests/junk', (_q, res) => {
      res.writeHead(200, { 'content-type': MT });
      res.end('<html>hello</html>');
    });
    route('GET', '/v2/app/manifests/s1', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
      res.end('{"schemaVersion":1}');
    });
    route('GET', '/v2/app/manifests/big', (_q, res) => {
      res.writeHead(200, { 'content-type': MT, 'content-length': String(MAX_MANIFEST_BYTES + 1) });
      res.end(Buffer.alloc(MAX_MANIFEST_BYTES + 1, 32));
    });
    route('GET', '/v2/app/manifests/bigchunked', (_q, res) => {
      res.writeHead(200, { 'content-type': MT }); // chunked: no Content-Length
      const chunk = Buffer.alloc(1024 * 1024, 32);
      for (let i = 0; i < 5; i++) res.write(chunk);
      res.end();
    });
    await fails(repo().fetchManifest('junk'), 'MANIFEST_INVALID');
    await fails(repo().fetchManifest('s1'), 'UNSUPPORTED');
    await fails(repo().fetchManifest('big'), 'TOO_LARGE');
    await fails(repo().fetchManifest('bigchunked'), 'TOO_LARGE');
    await fails(repo().fetchManifest({ ...goodDesc, size: MAX_MANIFEST_BYTES + 1 }), 'TOO_LARGE');
  });

  it('carries the registry error code and message; 404 on HEAD is MANIFEST_UNKNOWN', async () => {
    route('GET', '/v2/app/manifests/nope', (_q, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"app"}}]}');
    });
    const e = await fails(repo().fetchManifest('nope'), 'NAME_UNKNOWN');
    expect(e.message).to.contain('repository name not known to registry');
    expect(e.status).to.equal(404);
    await fails(repo().resolve('nope'), 'MANIFEST_UNKNOWN');
  });

  it('verifies blobs while streaming; fetchBlob refuses corrupted and oversize blobs', async () => {
    route('GET', `/v2/app/blobs/${blobDesc.digest}`, (_q, res) => {
      const bad = Buffer.from(blob);
      bad[0] = bad[0]! ^ 1;
      res.writeHead(200, { 'content-length': String(bad.length) });
      res.end(bad);
    });
    const e = await fails(repo().fetchBlob(blobDesc), 'DIGEST_MISMATCH');
    expect(e.exitCode).to.equal(EXIT.VERIFICATION_FAILED);
    const s = await repo().fetchBlobStream(blobDesc);
    const streamErr = await (async () => {
      try {
        for await (const _ of s) { /* drain */ }
      } catch (x) {
        return x as RegistryError;
      }
      return undefined;
    })();
    expect(streamErr?.code).to.equal('DIGEST_MISMATCH');
    await fails(repo().fetchBlob(blobDesc, 4), 'TOO_LARGE');
    await fails(repo().fetchBlob({ ...blobDesc, size: blobDesc.size + 5 }), 'SIZE_INVALID');
  });

  it('follows blob redirects without forwarding credentials to the other origin', async () => {
    route('GET', `/v2/app/blobs/${blobDesc.digest}`, (q, res) => {
      if (!q.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
      res.writeHead(307, { location: `http://${otherHost}/storage/object?sig=1` });
      res.end();
    });
    const r = openRepository(`${host}/app`, { credentials: { username: 'u', password: 'p' } });
    expect((await r.fetchBlob(blobDesc)).equals(blob)).to.equal(true);
    expect(otherLog).to.have.length(1);
    expect(otherLog[0]!.url).to.equal('/storage/object?sig=1');
    expect(otherLog[0]!.headers.authorization).to.equal(undefined);
  });

  it('follows manifest redirects (a moved repository, a mirror) and still checks the digest; a loop ends', async () => {
    route('GET', '/v2/moved/manifests/v1', (_q, res) => {
      res.writeHead(301, { location: `/v2/app/manifests/v1` });
      res.end();
    });
    route('HEAD', '/v2/moved/manifests/v1', (_q, res) => {
      res.writeHead(301, { location: `/v2/app/manifests/v1` });
      res.end();
    });
    for (const m of ['GET', 'HEAD']) {
      route(m, '/v2/app/manifests/v1', (_q, res) => {
        res.writeHead(200, { 'content-type': MT, 'content-length': String(good.length), 'docker-content-digest': goodDesc.digest });
        res.end(m === 'GET' ? good : undefined);
      });
    }
    expect((await repo('moved').fetchManifest('v1')).descriptor.digest).to.equal(goodDesc.digest);
    expect((await repo('moved').resolve('v1')).digest).to.equal(goodDesc.digest);
    route('GET', `/v2/moved/manifests/${goodDesc.digest}`, (_q, res) => {
      res.writeHead(307, { location: `/v2/app/manifests/evil` });
      res.end();
    });
    route('GET', '/v2/app/manifests/evil', (_q, res) => {
      res.writeHead(200, { 'content-type': MT });
      res.end(Buffer.concat([good, Buffer.from(' ')]));
    });
    await fails(repo('moved').fetchManifest(goodDesc.digest), 'DIGEST_MISMATCH');
    route('GET', '/v2/loop/manifests/v1', (_q, res) => {
      res.writeHead(307, { location: '/v2/loop/manifests/v1' });
      res.end();
    });
    const loop = await fails(repo('loop').fetchManifest('v1'), 'PROTOCOL');
    expect(loop.message).to.match(/too many redirects/);
  });

  it('bearer: answers the challenge at the token endpoint with basic creds and scope, then reuses the token', async () => {
    let tokenCalls = 0;
    route('GET', '/token', (q, res) => {
      tokenCalls++;
      const u = new URL(q.url!, 'http://x');
      const ok = q.headers.authorization === `Basic ${Buffer.from('alice:pw').toString('base64')}` && u.searchParams.get('service') === 'test-registry' && u.searchParams.getAll('scope').includes('repository:team/app:pull');
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(ok ? JSON.stringify({ access_token: 'tok-123', expires_in: 300 }) : '{"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]}');
    });
    route('GET', '/v2/team/app/manifests/v1', (q, res) => {
      if (q.headers.authorization !== 'Bearer tok-123') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="repository:team/app:pull"`, 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': MT });
      res.end(good);
    });
    const r = openRepository(`${host}/team/app`, { credentials: { username: 'alice', password: 'pw' } });
    await r.fetchManifest('v1');
    await r.fetchManifest('v1');
    await r.fetchManifest('v1');
    expect(tokenCalls).to.equal(1);
    expect(log.filter((l) => l.url.startsWith('/v2/')).length).to.equal(4); // one challenged + three with the token
    const bad = openRepository(`${host}/team/app`, { credentials: { username: 'alice', password: 'wrong' } });
    const e = await fails(bad.fetchManifest('v1'), 'UNAUTHORIZED');
    expect(e.message).to.contain('bad creds');
    const anon = openRepository(`${host}/team/app`, { credentials: null });
    const e2 = await fails(anon.fetchManifest('v1'), 'UNAUTHORIZED');
    expect(e2.hint).to.match(/docker login/);
  });

  it('bearer: scopes a challenge names are not asked for, only the operation\'s (a registry cannot widen what the credentials are used for)', async () => {
    const asked: string[][] = [];
    route('GET', '/token', (q, res) => {
      asked.push(new URL(q.url!, 'http://x').searchParams.getAll('scope'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok-scoped', expires_in: 300 }));
    });
    route('GET', '/v2/team/app/manifests/v1', (q, res) => {
      if (q.headers.authorization !== 'Bearer tok-scoped') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="s",scope="repository:team/app:pull repository:someone/else:push,delete registry:catalog:* repository:team/app:push,pull"` });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': MT });
      res.end(good);
    });
    const r = openRepository(`${host}/team/app`, { credentials: { username: 'alice', password: 'pw' } });
    await r.fetchManifest('v1');
    await r.fetchManifest('v1');
    expect(asked).to.deep.equal([['repository:team/app:pull']]); // once, and the token is then reused
  });

  it('bearer with an identity token (docker login to an OAuth2 registry): POST refresh_token grant to the realm', async () => {
    let form: URLSearchParams | undefined;
    route('POST', '/oauth', (q, res, body) => {
      form = new URLSearchParams(body.toString());
      expect(q.headers['content-type']).to.equal('application/x-www-form-urlencoded');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'oauth-tok', expires_in: 60 }));
    });
    route('GET', '/v2/app/manifests/v1', (q, res) => {
      if (q.headers.authorization !== 'Bearer oauth-tok') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/oauth",service="svc"` });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': MT });
      res.end(good);
    });
    const r = openRepository(`${host}/app`, { credentials: { username: '', password: '', identityToken: 'refresh-123' } });
    await r.fetchManifest('v1');
    expect(form?.get('grant_type')).to.equal('refresh_token');
    expect(form?.get('refresh_token')).to.equal('refresh-123');
    expect(form?.get('service')).to.equal('svc');
    expect(form?.get('scope')).to.equal('repository:app:pull');
  });

  it('refuses plain-HTTP token realms on non-loopback hosts', async () => {
    route('GET', '/v2/app/manifests/v1', (_q, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.example.invalid/token",service="x"' });
      res.end();
    });
    await fails(repo().fetchManifest('v1'), 'INSECURE');
  });

  it('network failures are NETWORK errors with the UNAVAILABLE exit code', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const e = await fails(openRepository(`127.0.0.1:${port}/app`, { credentials: null }).resolve('v1'), 'NETWORK');
    expect(e.exitCode).to.equal(EXIT.UNAVAILABLE);
    expect(e.hint).to.be.a('string');
  });

  it('referrers API: follows Link pages and filters client-side when OCI-Filters-Applied is absent', async () => {
    const subject = goodDesc;
    const entry = (i: number, at: string) => ({ mediaType: MT, digest: sha(`ref${i}`), size: 10 + i, artifactType: at });
    const pages = [[entry(1, 'application/a'), entry(2, 'application/b')], [entry(3, 'application/a')]];
    route('GET', `/v2/app/referrers/${subject.digest}`, (q, res) => {
      const page = new URL(q.url!, 'http://x').searchParams.get('page') === '2' ? 1 : 0;
      const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
      if (page === 0) headers.link = `</v2/app/referrers/${subject.digest}?page=2>; rel="next"`;
      res.writeHead(200, headers);
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: pages[page] }));
    });
    const all = await repo().referrers(subject);
    expect(all.map((d) => d.size)).to.deep.equal([11, 12, 13]);
    const onlyA = await repo().referrers(subject, 'application/a');
    expect(onlyA.map((d) => d.size)).to.deep.equal([11, 13]);
    expect(log.filter((l) => l.url.includes('artifactType=application%2Fa')).length).to.equal(1); // filter was asked for
    // a registry that applied the filter is trusted with it
    route('GET', `/v2/app/referrers/${subject.digest}`, (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'oci-filters-applied': 'artifactType' });
      res.end(JSON.stringify({ schemaVersion: 2, manifests: [entry(4, 'application/a')] }));
    });
    expect((await repo().referrers(subject, 'application/a')).map((d) => d.size)).to.deep.equal([14]);
  });

  it('referrers API: endless pages stop at the limit asked for; a page linking back is a PROTOCOL error', async () => {
    const subject = goodDesc;
    let served = 0;
    route('GET', `/v2/app/referrers/${subject.digest}`, (q, res) => {
      const page = Number(new URL(q.url!, 'http://x').searchParams.get('page') ?? '0');
      served++;
      const manifests = Array.from({ length: 50 }, (_, i) => ({ mediaType: MT, digest: sha(`p${page}-${i}`), size: 100 + i, artifactType: 'application/a' }));
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', link: `</v2/app/referrers/${subject.digest}?page=${page + 1}>; rel="next"` });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    });
    const got = await repo().referrers(subject, undefined, 101);
    expect(got).to.have.length(101);
    expect(served).to.equal(3); // 50 + 50 + 50 entries: the third page has the 101st, no fourth page is asked for
    route('GET', `/v2/app/referrers/${subject.digest}`, (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', link: `</v2/app/referrers/${subject.digest}>; rel="next"` });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
    });
    const e = await fails(repo().referrers(subject), 'PROTOCOL');
    expect(e.message).to.match(/link back/);
  });

  it('a registry dripping its headers or a body, or sending an endless error body, cannot hold a request beyond its deadlines', async function () {
    this.timeout(30_000);
    const quick = () => openRepository(`${host}/app`, { credentials: null, timeoutMs: 400 });
    const timers: NodeJS.Timeout[] = [];
    // headers: one line every 100 ms (each byte resets an idle timeout; the headers still never complete)
    route('GET', '/v2/app/manifests/drip', (q) => {
      q.socket.write('HTTP/1.1 200 OK\r\n');
      timers.push(setInterval(() => q.socket.write('X-Drip: 1\r\n'), 100));
    });
    let t0 = Date.now();
    await fails(quick().fetchManifest('drip'), 'NETWORK');
    expect(Date.now() - t0).to.be.lessThan(5_000);
    // an error answer with an endless body: the redirect/error body is drained only up to a bound
    route('GET', '/v2/app/manifests/endless', (_q, res) => {
      res.writeHead(302, { location: '/v2/app/manifests/nowhere' });
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const pump = () => { while (res.write(chunk)); };
      res.on('drain', pump);
      pump();
    });
    t0 = Date.now();
    await fails(quick().fetchManifest('endless'), 'MANIFEST_UNKNOWN');
    expect(Date.now() - t0).to.be.lessThan(5_000);
    // a token service answering JSON null: a PROTOCOL error, not a crash
    route('GET', '/v2/app/manifests/tok', (_q, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="t"` });
      res.end();
    });
    route('GET', '/token', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('null');
    });
    await fails(repo().fetchManifest('tok'), 'PROTOCOL');
    for (const t of timers) clearInterval(t);
  });

  it('a manifest without mediaType that is both a manifest and an index is refused (CVE-2021-41190)', async () => {
    const ambiguous = Buffer.from(JSON.stringify({ schemaVersion: 2, config: JSON.parse(good.toString()).config, layers: [], manifests: [goodDesc] }));
    route('GET', '/v2/app/manifests/amb', (_q, res) => {
      res.writeHead(200, { 'content-type': MT, 'docker-content-digest': sha(ambiguous) });
      res.end(ambiguous);
    });
    const e = await fails(repo().fetchManifest('amb'), 'MANIFEST_INVALID');
    expect(e.message).to.match(/ambiguous/);
  });

  it('readBounded has a deadline of its own: a body dripping a byte at a time ends in an error', async () => {
    const { readBounded } = await import('../../src/registry/client.js');
    const { Readable } = await import('node:stream');
    let i = 0;
    const drip = new Readable({ read() { setTimeout(() => this.push(i++ < 1000 ? Buffer.from('x') : null), 20); } });
    const e = await readBounded(drip, 1 << 20, 'GET x', 200).then(() => undefined, (x: unknown) => x);
    expect((e as RegistryError).code).to.equal('NETWORK');
    expect((e as Error).message).to.match(/did not complete within/);
  });

  it('a Link or Location that is not an http(s) URL is a PROTOCOL error, not a crash', async () => {
    const subject = goodDesc;
    for (const link of ['<http://[bad>; rel="next"', '<//:99999/x>; rel="next"', '<file:///etc/passwd>; rel="next"']) {
      route('GET', `/v2/app/referrers/${subject.digest}`, (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', link });
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
      });
      await fails(repo().referrers(subject), 'PROTOCOL');
    }
    for (const location of ['http://[bad', 'file:///etc/passwd']) {
      route('GET', '/v2/app/manifests/v1', (_q, res) => {
        res.writeHead(302, { location });
        res.end();
      });
      await fails(repo().fetchManifest('v1'), 'PROTOCOL');
    }
  });

  it('referrers: the API\'s answer when the registry serves it (a leftover tag-schema index is not read, as oras-go/notation), else the tag index', async () => {
    const subject = goodDesc;
    const entry = (i: number) => ({ mediaType: MT, digest: sha(`ref${i}`), size: 10 + i, artifactType: 'application/a' });
    const tagIndex = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry(1)] }));
    route('GET', `/v2/app/manifests/sha256-${subject.digest.slice(7)}`, (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': sha(tagIndex) });
      res.end(tagIndex);
    });
    route('GET', `/v2/app/referrers/${subject.digest}`, (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry(2)] }));
    });
    expect((await repo().referrers(subject)).map((d) => d.size)).to.deep.equal([12]);
    // without the API (404, not NAME_UNKNOWN) the tag index is the list
    routes.delete(`GET /v2/app/referrers/${subject.digest}`);
    expect((await repo().referrers(subject)).map((d) => d.size)).to.deep.equal([11]);
  });

  it('pushReferrer: an OCI-Subject answer means the registry indexes it (no tag-schema writes)', async () => {
    const refBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, artifactType: 'application/x', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 }, layers: [], subject: goodDesc }));
    const refDesc = { mediaType: MT, digest: sha(refBytes), size: refBytes.length };
    route('PUT', `/v2/app/manifests/${refDesc.digest}`, (_q, res, body) => {
      expect(body.equals(refBytes)).to.equal(true);
      res.writeHead(201, { 'docker-content-digest': refDesc.digest, 'oci-subject': goodDesc.digest });
      res.end();
    });
    const r = repo();
    await r.pushReferrer(refDesc, refBytes, goodDesc);
    // the registry acknowledged the subject: the tag-schema index is neither read nor written
    expect(log.map((l) => `${l.method} ${l.url}`)).to.deep.equal([`PUT /v2/app/manifests/${refDesc.digest}`]);
    // once the registry said it indexes referrers, nothing but the manifest PUT
    log.length = 0;
    await r.pushReferrer(refDesc, refBytes, goodDesc);
    expect(log.map((l) => `${l.method} ${l.url}`)).to.deep.equal([`PUT /v2/app/manifests/${refDesc.digest}`]);
    // and a referrer whose subject is another manifest is refused before any request
    log.length = 0;
    const e = await repo().pushReferrer(refDesc, refBytes, { ...goodDesc, digest: sha('other') }).catch((x: unknown) => x);
    expect(e).to.have.property('code', 'INVALID_MANIFEST');
    expect(log).to.have.length(0);
  });

  it('pushReferrer on the tag schema: done only once the index held our entry through a whole settle without a write', async () => {
    // A writer that merged an index without our entry may land after another writer merged on top of ours: seeing
    // our entry once is not enough while the tag keeps moving.
    const refBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, artifactType: 'application/x', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 }, layers: [], subject: goodDesc }));
    const refDesc = { mediaType: MT, digest: sha(refBytes), size: refBytes.length };
    const idx = (...digests: string[]) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: digests.map((digest) => ({ mediaType: MT, digest, size: 10, artifactType: 'application/x' })) }));
    const [x, y] = [sha('writer x'), sha('writer y')];
    route('PUT', `/v2/app/manifests/${refDesc.digest}`, (_q, res) => {
      res.writeHead(201, { 'docker-content-digest': refDesc.digest }); // no OCI-Subject: the tag schema it is
      res.end();
    });
    const tag = `/v2/app/manifests/sha256-${goodDesc.digest.slice(7)}`;
    // what the tag serves to successive GETs: nothing yet; after our write, x merged on top of ours; then y, who
    // had read before our write, lands without it; from then on whatever was written last
    const script: (Buffer | undefined)[] = [undefined, idx(refDesc.digest, x), idx(y)];
    let state: Buffer | undefined;
    const puts: Buffer[] = [];
    const serve: Handler = (req, res) => {
      if (req.method === 'GET' && script.length) state = script.shift() ?? state; // the other writers' writes
      const bytes = state;
      if (!bytes) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': sha(bytes), 'content-length': String(bytes.length) });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    };
    route('GET', tag, serve);
    route('HEAD', tag, serve);
    route('PUT', tag, (_q, res, body) => {
      puts.push(body);
      state = body;
      res.writeHead(201, { 'docker-content-digest': sha(body) });
      res.end();
    });
    await repo().pushReferrer(refDesc, refBytes, goodDesc);
    expect(puts).to.have.length(2);
    const final = (JSON.parse(puts[1]!.toString()) as { manifests: { digest: string }[] }).manifests.map((d) => d.digest);
    expect(final).to.deep.equal([y, refDesc.digest]);
    expect(script).to.have.length(0);
  });

  it('openUpload: the POST goes out at once; put() completes it with one PUT, cancel() DELETEs an unused session', async () => {
    route('POST', '/v2/app/blobs/uploads/', (_q, res) => {
      res.writeHead(202, { location: '/v2/app/blobs/uploads/u1?state=x', 'content-length': '0' });
      res.end();
    });
    let stored: Buffer | undefined;
    route('PUT', '/v2/app/blobs/uploads/u1', (q, res, body) => {
      expect(new URL(q.url!, 'http://x').searchParams.get('digest')).to.equal(blobDesc.digest);
      stored = body;
      res.writeHead(201, { 'docker-content-digest': blobDesc.digest });
      res.end();
    });
    route('DELETE', '/v2/app/blobs/uploads/u1', (_q, res) => {
      res.writeHead(204);
      res.end();
    });
    const up = repo().openUpload();
    await new Promise((r) => setTimeout(r, 50));
    expect(log.map((l) => l.method)).to.deep.equal(['POST']); // before any bytes are known
    await up.put(blobDesc, blob);
    expect(stored?.equals(blob)).to.equal(true);
    await up.cancel(); // after put: nothing to cancel
    expect(log.map((l) => l.method)).to.deep.equal(['POST', 'PUT']);
    log.length = 0;
    await repo().openUpload().cancel();
    expect(log.map((l) => l.method)).to.deep.equal(['POST', 'DELETE']);
  });

  it('openUpload: a session the registry refused falls back to a plain upload, whose error is reported', async () => {
    let posts = 0;
    route('POST', '/v2/app/blobs/uploads/', (_q, res) => {
      posts++;
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"DENIED","message":"no push for you"}]}');
    });
    await fails(repo().openUpload().put(blobDesc, blob), 'DENIED');
    expect(posts).to.equal(2);
  });

  it('tags: follows RFC 8288 Link pagination', async () => {
    route('GET', '/v2/app/tags/list', (q, res) => {
      const last = new URL(q.url!, 'http://x').searchParams.get('last');
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (!last) headers.link = '</v2/app/tags/list?n=2&last=b>; rel="next"';
      res.writeHead(200, headers);
      res.end(JSON.stringify({ name: 'app', tags: last ? ['c'] : ['a', 'b'] }));
    });
    expect(await repo().tags({ pageSize: 2 })).to.deep.equal(['a', 'b', 'c']);
    expect(log.map((l) => l.url)).to.deep.equal(['/v2/app/tags/list?n=2', '/v2/app/tags/list?n=2&last=b']);
  });

  it('keeps working after closeConnections() (a new pool is created on demand)', async () => {
    route('GET', '/v2/app/manifests/v1', (_q, res) => {
      res.writeHead(200, { 'content-type': MT });
      res.end(good);
    });
    const r = repo();
    await r.fetchManifest('v1');
    await closeConnections();
    expect((await r.fetchManifest('v1')).descriptor).to.deep.equal(goodDesc);
  });

  it('rejects bad selectors and descriptors before any request', async () => {
    const e = await repo().resolve('bad tag!').catch((x: unknown) => x);
    expect(e).to.have.property('code', 'INVALID_REFERENCE');
    const e2 = await repo().pushManifest(goodDesc, Buffer.concat([good, Buffer.from(' ')])).catch((x: unknown) => x);
    expect(e2).to.have.property('code', 'SIZE_MISMATCH');
    const e3 = await repo().pushBlob({ ...blobDesc, digest: sha('x') }, blob).catch((x: unknown) => x);
    expect(e3).to.have.property('code', 'DIGEST_MISMATCH');
    expect(log).to.have.length(0);
  });
});
