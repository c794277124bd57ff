import { expect } from 'chai';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256Digest, verifyBytes, DigestVerifyingStream, parseDigest, isDigest } from '../../src/oci/digest.js';
import { DockerSignError } from '../../src/errors.js';

describe('oci/digest', () => {
  it('computes sha256 digests of bytes', () => {
    expect(sha256Digest('')).to.equal('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('rejects malformed digests with a typed error', () => {
    for (const bad of ['sha256:ABC', 'md5:00', 'sha256:' + 'a'.repeat(63), '', 'sha256' + 'a'.repeat(64)]) {
      expect(isDigest(bad)).to.equal(false);
      expect(() => parseDigest(bad)).to.throw(DockerSignError).with.property('code', 'INVALID_DIGEST');
    }
  });

  it('verifyBytes fails on a wrong digest or size', () => {
    const d = sha256Digest('hello');
    verifyBytes(Buffer.from('hello'), d, 5);
    expect(() => verifyBytes(Buffer.from('hellO'), d)).to.throw().with.property('code', 'DIGEST_MISMATCH');
    expect(() => verifyBytes(Buffer.from('hello'), d, 4)).to.throw().with.property('code', 'SIZE_MISMATCH');
  });

  it('the verifying stream errors at the end on a mismatch and early on oversize', async () => {
    const d = sha256Digest('abc');
    const sink = async function* (src: AsyncIterable<Buffer>) { for await (const _ of src) { /* drain */ } };
    await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('c')]), new DigestVerifyingStream(d, 3), sink);
    let err: unknown;
    try { await pipeline(Readable.from([Buffer.from('abd')]), new DigestVerifyingStream(d, 3), sink); } catch (e) { err = e; }
    expect(err).to.have.property('code', 'DIGEST_MISMATCH');
    err = undefined;
    try { await pipeline(Readable.from([Buffer.from('abcd')]), new DigestVerifyingStream(d, 3), sink); } catch (e) { err = e; }
    expect(err).to.have.property('code', 'SIZE_MISMATCH');
  });
});
