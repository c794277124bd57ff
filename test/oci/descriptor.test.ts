import { expect } from 'chai';
import { validateDescriptor, sameContent, coreDescriptor, MAX_MANIFEST_BYTES } from '../../src/oci/descriptor.js';
import { parseImageManifest, parseImageIndex, parseJsonObject, encodeJson } from '../../src/oci/manifest.js';
import { MediaType, isValidMediaType, isManifestMediaType, isIndexMediaType, MANIFEST_ACCEPT } from '../../src/oci/mediaTypes.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { InputError } from '../../src/errors.js';

const D = sha256Digest('x');
const good = { mediaType: MediaType.OCI_LAYER_GZIP, digest: D, size: 1 };

describe('oci/mediaTypes', () => {
  it('accepts RFC 6838 shapes and rejects parameters, spaces and junk', () => {
    for (const t of [MediaType.OCI_MANIFEST, 'application/spdx+json', 'application/vnd.cncf.notary.signature', 'text/plain']) expect(isValidMediaType(t), t).to.equal(true);
    for (const t of ['', 'application', 'application/', '/json', 'text/plain; charset=utf-8', 'a b/c', 5, null, undefined]) expect(isValidMediaType(t), String(t)).to.equal(false);
  });
  it('classifies manifests and indexes; Accept lists OCI and Docker types', () => {
    expect(isManifestMediaType(MediaType.DOCKER_MANIFEST)).to.equal(true);
    expect(isManifestMediaType(MediaType.OCI_INDEX)).to.equal(false);
    expect(isIndexMediaType(MediaType.DOCKER_MANIFEST_LIST)).to.equal(true);
    expect(MANIFEST_ACCEPT).to.include.members([MediaType.OCI_MANIFEST, MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST, MediaType.DOCKER_MANIFEST_LIST]);
  });
});

describe('oci/descriptor validation', () => {
  it('accepts a well-formed descriptor with optional fields', () => {
    const d = { ...good, annotations: { a: 'b' }, urls: ['https://x'], artifactType: 'application/x', data: 'eA==' };
    expect(validateDescriptor(d)).to.equal(d);
  });
  it('rejects bad fields with INVALID_DESCRIPTOR', () => {
    const bad: unknown[] = [
      null, [], 'x', { ...good, mediaType: 'nope' }, { ...good, digest: 'sha256:XYZ' }, { ...good, size: -1 }, { ...good, size: 1.5 },
      { ...good, size: '1' }, { ...good, annotations: { a: 1 } }, { ...good, annotations: [] }, { ...good, urls: [1] },
      { ...good, artifactType: 'bad type' }, { ...good, data: 5 }, { ...good, size: Number.MAX_SAFE_INTEGER + 2 },
    ];
    for (const b of bad) expect(() => validateDescriptor(b), JSON.stringify(b)).to.throw(InputError).with.property('code', 'INVALID_DESCRIPTOR');
  });
  it('sameContent compares mediaType+digest+size only; coreDescriptor drops the rest', () => {
    expect(sameContent({ ...good }, { ...good, annotations: { x: 'y' } } as typeof good)).to.equal(true);
    expect(sameContent(good, { ...good, size: 2 })).to.equal(false);
    expect(coreDescriptor({ ...good, annotations: { a: 'b' } })).to.deep.equal(good);
  });
});

describe('oci/manifest parsing', () => {
  const manifest = { schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: { ...good, mediaType: MediaType.OCI_CONFIG }, layers: [good] };
  it('parses image manifests and indexes', () => {
    expect(parseImageManifest(encodeJson(manifest)).layers).to.have.length(1);
    const idx = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [{ ...good, mediaType: MediaType.OCI_MANIFEST }] };
    expect(parseImageIndex(encodeJson(idx)).manifests).to.have.length(1);
  });
  it('rejects non-JSON, non-object, wrong schemaVersion, wrong media type, bad descriptors', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => parseImageManifest(Buffer.from('<html>')), /not valid JSON/],
      [() => parseImageManifest(Buffer.from('[1]')), /JSON object/],
      [() => parseImageManifest(encodeJson({ ...manifest, schemaVersion: 1 })), /schemaVersion/],
      [() => parseImageManifest(encodeJson({ ...manifest, mediaType: MediaType.OCI_INDEX })), /not an image manifest/],
      [() => parseImageManifest(encodeJson({ ...manifest, layers: 'x' })), /layers/],
      [() => parseImageManifest(encodeJson(manifest), MediaType.DOCKER_MANIFEST), /does not match/],
      [() => parseImageIndex(encodeJson(manifest)), /not an image index/],
      [() => parseImageIndex(encodeJson({ schemaVersion: 2, manifests: {} })), /manifests must be an array/],
    ];
    for (const [f, re] of cases) expect(f).to.throw(InputError, re);
    expect(() => parseImageManifest(encodeJson({ ...manifest, layers: [{ ...good, digest: 'md5:00' }] }))).to.throw(InputError).with.property('code', 'INVALID_DESCRIPTOR');
  });
  it('refuses bodies over MAX_MANIFEST_BYTES before parsing', () => {
    const big = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
    expect(() => parseJsonObject(big, 'manifest')).to.throw(InputError, /larger than/);
  });
});
