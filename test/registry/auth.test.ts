import { expect } from 'chai';
import { parseChallenges, TokenCache, repositoryScope } from '../../src/registry/auth.js';
import { parseErrorBody, errorFromResponse, RegistryError } from '../../src/registry/errors.js';
import { allowsPlainHttp, insecureList, isLoopback } from '../../src/registry/client.js';
import { nextLink, referrersTag, referrerDescriptor } from '../../src/registry/repository.js';
import { EXIT } from '../../src/errors.js';

describe('registry/auth: WWW-Authenticate parsing', () => {
  it('parses a distribution bearer challenge with quoted params and commas inside quotes', () => {
    const c = parseChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"');
    expect(c).to.deep.equal([
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' } },
    ]);
  });
  it('parses several challenges and basic', () => {
    const c = parseChallenges(['Basic realm="Registry Realm"', 'Bearer realm=https://x/t, service=s']);
    expect(c.map((x) => x.scheme)).to.deep.equal(['basic', 'bearer']);
    expect(c[1]!.params).to.deep.equal({ realm: 'https://x/t', service: 's' });
    expect(parseChallenges('Basic realm="a", Bearer realm="b"').map((x) => [x.scheme, x.params.realm])).to.deep.equal([
      ['basic', 'a'],
      ['bearer', 'b'],
    ]);
  });
  it('handles escapes and empty input', () => {
    expect(parseChallenges('Bearer realm="a\\"b"')[0]!.params.realm).to.equal('a"b');
    expect(parseChallenges(undefined)).to.deep.equal([]);
    expect(parseChallenges('')).to.deep.equal([]);
  });
  it('token cache reuses per scope set until shortly before expiry', () => {
    const t = new TokenCache();
    const s = [repositoryScope('app', ['pull']), repositoryScope('lib', ['pull'])];
    t.set(s, 'tok', 300, 1_000_000);
    expect(t.get([...s].reverse(), 1_000_000 + 200_000)).to.equal('tok');
    expect(t.get(s, 1_000_000 + 299_000)).to.equal(undefined); // inside the safety margin
    expect(t.get([repositoryScope('app', ['pull', 'push'])], 1_000_001)).to.equal(undefined);
  });
});

describe('registry/errors', () => {
  it('carries the registry error code, its message and the status', () => {
    const e = errorFromResponse(404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}', 'GET manifest r/a:x');
    expect(e).to.be.instanceOf(RegistryError);
    expect(e.code).to.equal('MANIFEST_UNKNOWN');
    expect(e.status).to.equal(404);
    expect(e.message).to.contain('manifest unknown');
    expect(e.hint).to.be.a('string');
    expect(e.exitCode).to.equal(EXIT.UNAVAILABLE);
    expect(e.registryErrors[0]!.detail).to.deep.equal({ Tag: 'x' });
  });
  it('derives codes from the status when the body is not a distribution error', () => {
    expect(errorFromResponse(401, '', 'x').code).to.equal('UNAUTHORIZED');
    expect(errorFromResponse(403, 'nope', 'x').code).to.equal('DENIED');
    expect(errorFromResponse(405, '', 'x').code).to.equal('UNSUPPORTED');
    expect(errorFromResponse(413, '', 'x').code).to.equal('TOO_LARGE');
    expect(errorFromResponse(503, '<html>', 'x').code).to.equal('UNAVAILABLE');
    expect(errorFromResponse(404, '404 page not found', 'x', 'BLOB_UNKNOWN').code).to.equal('BLOB_UNKNOWN');
    expect(errorFromResponse(404, '404 page not found', 'x').message).to.contain('404 page not found');
  });
  it('maps DIGEST_INVALID to DIGEST_MISMATCH with the verification exit code', () => {
    const e = errorFromResponse(400, '{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}', 'PUT');
    expect(e.code).to.equal('DIGEST_MISMATCH');
    expect(e.exitCode).to.equal(EXIT.VERIFICATION_FAILED);
  });
  it('tolerates junk error bodies', () => {
    expect(parseErrorBody('not json')).to.deep.equal([]);
    expect(parseErrorBody('{"errors":[1,{"code":5,"message":"m"}]}')).to.deep.equal([{ code: undefined, message: 'm', detail: undefined }]);
  });
});

describe('registry/client: plain HTTP policy', () => {
  it('allows plain HTTP only for loopback and listed hosts', () => {
    for (const h of ['127.0.0.1:5000', '127.9.9.9', 'localhost:5000', 'localhost', '[::1]:5000']) expect(isLoopback(h), h).to.equal(true);
    for (const h of ['10.0.0.1:5000', 'registry.local:5000', 'docker.io', '127.0.0.1.nip.io:5000']) expect(isLoopback(h), h).to.equal(false);
    expect(allowsPlainHttp('registry.local:5000', [])).to.equal(false);
    expect(allowsPlainHttp('registry.local:5000', ['registry.local:5000'])).to.equal(true);
    expect(allowsPlainHttp('registry.local:5000', ['registry.local'])).to.equal(true);
    expect(allowsPlainHttp('registry.local:5000', ['other.local'])).to.equal(false);
  });
  it('reads DOCKER_SIGN_INSECURE_REGISTRIES (comma-separated)', () => {
    const l = insecureList({ insecure: ['A.example'] }, { DOCKER_SIGN_INSECURE_REGISTRIES: ' b.example:5000, http://c.example/ ' });
    expect(l).to.deep.equal(['a.example', 'b.example:5000', 'c.example']);
  });
});

describe('registry/repository helpers', () => {
  it('builds the referrers tag schema tag', () => {
    expect(referrersTag(`sha256:${'a'.repeat(64)}`)).to.equal(`sha256-${'a'.repeat(64)}`);
    expect(referrersTag(`sha512:${'b'.repeat(128)}`)).to.equal(`sha512-${'b'.repeat(64)}`);
    expect(() => referrersTag('sha256:xyz')).to.throw().with.property('code', 'INVALID_DIGEST');
  });
  it('follows RFC 8288 rel="next" links', () => {
    const base = new URL('http://r:5000/v2/a/tags/list?n=2');
    expect(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"', base)).to.equal('http://r:5000/v2/a/tags/list?last=b&n=2');
    expect(nextLink('<https://o/x>; rel="prev", </p2>; rel=next', base)).to.equal('http://r:5000/p2');
    expect(nextLink('</p2>; rel="prev"', base)).to.equal(undefined);
    expect(nextLink(undefined, base)).to.equal(undefined);
  });
  it('referrer descriptors carry artifactType (else config.mediaType) and annotations', () => {
    const d = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}` as const, size: 10 };
    expect(referrerDescriptor(d, { artifactType: 'application/x', config: { mediaType: 'application/y' }, annotations: { k: 'v' } })).to.deep.equal({ ...d, artifactType: 'application/x', annotations: { k: 'v' } });
    expect(referrerDescriptor(d, { config: { mediaType: 'application/y' }, annotations: {} })).to.deep.equal({ ...d, artifactType: 'application/y' });
  });
});
