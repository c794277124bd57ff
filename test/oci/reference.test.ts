import { expect } from 'chai';
import {
  parseReference, formatReference, familiarReference, referenceWithDigest, registryApiHost, credentialKey, type Reference,
} from '../../src/oci/reference.js';
import { InputError } from '../../src/errors.js';

const D = `sha256:${'ab'.repeat(32)}` as const;

function ok(s: string, want: Reference): void {
  expect(parseReference(s), s).to.deep.equal(want);
}

function bad(s: string): InputError {
  let err: unknown;
  try {
    parseReference(s);
  } catch (e) {
    err = e;
  }
  expect(err, `expected "${s}" to be rejected`).to.be.instanceOf(InputError);
  expect((err as InputError).code).to.equal('INVALID_REFERENCE');
  expect((err as InputError).hint, 'hint').to.be.a('string').and.not.empty;
  return err as InputError;
}

describe('oci/reference', () => {
  it('defaults to docker.io and library/ for single-component names', () => {
    ok('alpine', { registry: 'docker.io', repository: 'library/alpine' });
    ok('alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' });
    ok('team/app:1', { registry: 'docker.io', repository: 'team/app', tag: '1' });
    ok('docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' });
    ok('index.docker.io/library/alpine:edge', { registry: 'docker.io', repository: 'library/alpine', tag: 'edge' });
    ok('index.docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' });
  });

  it('detects registry hosts by ".", ":" or localhost and keeps ports', () => {
    ok('localhost/app', { registry: 'localhost', repository: 'app' });
    ok('localhost:5000/app:v1', { registry: 'localhost:5000', repository: 'app', tag: 'v1' });
    ok('127.0.0.1:5000/team/app', { registry: '127.0.0.1:5000', repository: 'team/app' });
    ok('ghcr.io/org/sub/app:1.0', { registry: 'ghcr.io', repository: 'org/sub/app', tag: '1.0' });
    ok('[::1]:5000/app:x', { registry: '[::1]:5000', repository: 'app', tag: 'x' });
    // no '.', ':' or localhost: first component is part of the path on docker.io
    ok('myhost/app', { registry: 'docker.io', repository: 'myhost/app' });
  });

  it('parses digests and tag+digest', () => {
    ok(`alpine@${D}`, { registry: 'docker.io', repository: 'library/alpine', digest: D });
    ok(`localhost:5000/app:1@${D}`, { registry: 'localhost:5000', repository: 'app', tag: '1', digest: D });
    const s512 = `sha512:${'cd'.repeat(64)}`;
    expect(parseReference(`r.io/a@${s512}`).digest).to.equal(s512);
  });

  it('accepts the distribution spec path grammar and tag grammar edges', () => {
    ok('r.io/a__b/c-d/e.f/g---h:_x', { registry: 'r.io', repository: 'a__b/c-d/e.f/g---h', tag: '_x' });
    ok(`r.io/a:${'t'.repeat(128)}`, { registry: 'r.io', repository: 'a', tag: 't'.repeat(128) });
  });

  it('round-trips through formatReference and prints the familiar form', () => {
    for (const s of ['alpine:3', `localhost:5000/app:1@${D}`, 'ghcr.io/org/app', 'team/app']) {
      const r = parseReference(s);
      expect(parseReference(formatReference(r))).to.deep.equal(r);
    }
    expect(formatReference(parseReference('alpine:3'))).to.equal('docker.io/library/alpine:3');
    expect(familiarReference(parseReference('docker.io/library/alpine:3'))).to.equal('alpine:3');
    expect(familiarReference(parseReference('team/app'))).to.equal('team/app');
    expect(familiarReference(parseReference('localhost:5000/app:1'))).to.equal('localhost:5000/app:1');
  });

  it('referenceWithDigest pins a digest and rejects bad ones', () => {
    const r = referenceWithDigest(parseReference('localhost:5000/app:1'), D);
    expect(r).to.deep.equal({ registry: 'localhost:5000', repository: 'app', tag: '1', digest: D });
    expect(() => referenceWithDigest(r, 'sha256:nothex')).to.throw(InputError).with.property('code', 'INVALID_DIGEST');
  });

  it('maps docker.io to its API host and credential key', () => {
    expect(registryApiHost('docker.io')).to.equal('registry-1.docker.io');
    expect(registryApiHost('127.0.0.1:5000')).to.equal('127.0.0.1:5000');
    expect(credentialKey('docker.io')).to.equal('https://index.docker.io/v1/');
    expect(credentialKey('ghcr.io')).to.equal('ghcr.io');
  });

  it('rejects malformed references with INVALID_REFERENCE and a hint', () => {
    for (const s of [
      '', ' alpine', 'alpine ', 'Alpine', 'docker.io/Team/app', 'app:', 'app:-x', 'app:.x', `app:${'t'.repeat(129)}`,
      'app@sha256:abc', `app@md5:${'a'.repeat(32)}`, 'r.io/', 'r.io//app', 'r.io/app/', '/app', 'a..b', 'a/-b', 'r.io/a_',
      'r.io:99999/app', 'bad_host.io/app', ':tag', `@${D}`, 'a:b:c', `${'a'.repeat(256)}`,
    ]) {
      bad(s);
    }
    expect(bad('Alpine').message).to.match(/lowercase/);
  });
});
