import { expect } from 'chai';
import { findDuplicateKey, findNonIntegerMember } from '../../src/oci/jsonstrict.js';
import { parseImageManifest } from '../../src/oci/manifest.js';

describe('oci: strict JSON checks (what Go decoding refuses and JSON.parse takes)', () => {
  it('findNonIntegerMember finds a fraction or an exponent on the named member at any depth', () => {
    expect(findNonIntegerMember('{"size":12}', 'size')).to.equal(undefined);
    expect(findNonIntegerMember('{"size":-3}', 'size')).to.equal(undefined);
    expect(findNonIntegerMember('{"size":12.0}', 'size')).to.equal('12.0');
    expect(findNonIntegerMember('{"a":{"b":[{"size":1E3}]}}', 'size')).to.equal('1E3');
    expect(findNonIntegerMember('{"layers":[{"digest":"x","size":2e+1}]}', 'size')).to.equal('2e+1');
    expect(findNonIntegerMember('{ "size" : 7.5 }', 'size')).to.equal('7.5');
    expect(findNonIntegerMember('{"\\u0073ize":7.0}', 'size')).to.equal('7.0'); // the name spelled with an escape
  });

  it('findNonIntegerMember ignores other members, strings, array items and look-alikes inside strings', () => {
    expect(findNonIntegerMember('{"other":1.5,"size":2}', 'size')).to.equal(undefined);
    expect(findNonIntegerMember('{"annotations":{"size":"1.5"}}', 'size')).to.equal(undefined);
    expect(findNonIntegerMember('{"size":[1.5]}', 'size')).to.equal(undefined); // not a number member (Go refuses it as a type error elsewhere)
    expect(findNonIntegerMember('{"x":"\\"size\\":1.5","size":3}', 'size')).to.equal(undefined);
    expect(findNonIntegerMember('{"my\\"size":1.5}', 'size')).to.equal(undefined);
    expect(findNonIntegerMember('{"a":[{"b":1},2.5],"size":1}', 'size')).to.equal(undefined);
  });

  it('findDuplicateKey still finds repeated members', () => {
    expect(findDuplicateKey('{"a":1,"b":{"a":2},"a":3}')).to.equal('a');
    expect(findDuplicateKey('{"a":1,"b":{"a":2}}')).to.equal(undefined);
  });

  it('a manifest whose descriptor size is 12.0 is refused (notation/oras-go cannot decode it)', () => {
    const m = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 12 },
      layers: [],
    };
    expect(() => parseImageManifest(Buffer.from(JSON.stringify(m)))).not.to.throw();
    expect(() => parseImageManifest(Buffer.from(JSON.stringify(m).replace('"size":12', '"size":12.0')))).to.throw(/size written as 12\.0/);
  });
});
