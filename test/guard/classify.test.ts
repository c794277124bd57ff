import { expect } from 'chai';
import { classify } from '../../plugins/guard/classify.js';
import { createImageFromBody } from '../../plugins/guard/decide.js';

describe('guard: RequestUri classification', () => {
  const cases: [string, string, string][] = [
    ['POST', '/v1.41/images/create?fromImage=localhost%3A5000%2Fbusy&tag=1', 'pull'],
    ['POST', '/images/create?fromImage=busy&tag=sha256%3Aabc', 'pull'],
    ['POST', '/v1.50/images/create?fromSrc=-&repo=x', 'import'],
    ['POST', '/v1.50/images/create?fromImage=&fromSrc=-', 'import'],
    ['POST', '/v1.50/images/create?fromImage=x&fromSrc=-', 'pull'],
    ['POST', '/v1.41/containers/create?name=c1', 'create'],
    ['POST', '/containers/create?name=nover', 'create'],
    ['POST', '/containers/create', 'create'],
    ['POST', '/v1.41/containers//create', 'create'],
    ['POST', '/v1.41/containers%2Fcreate', 'create'],
    ['POST', '/v1.41/containers/abc123/start', 'start'],
    ['POST', '/v1.41/containers/abc123/restart?t=1', 'start'], // restart starts a created or stopped container too
    ['POST', '/v1.41/containers/abc/rename?name=x', 'rename'],
    ['POST', '/grpc', 'build'], // BuildKit (docker buildx's docker driver) pulls and runs images over it
    ['POST', '/v1.41/session', 'build'],
    ['POST', '/v1.41/plugins/pull?remote=x', 'plugin'],
    ['POST', '/v1.41/plugins/create?name=p', 'plugin'],
    ['POST', '/v1.41/plugins/p:latest/enable', 'plugin'],
    ['POST', '/v1.41/plugins/p/upgrade?remote=x', 'plugin'],
    ['POST', '/v1.41/plugins/p/disable', 'other'],
    ['POST', '/v1.41/services/create', 'service'],
    ['POST', '/v1.41/services/abc/update?version=3', 'service'],
    ['POST', '/v1.41/build?dockerfile=Dockerfile&t=derived%3A1', 'build'],
    ['POST', '/v1.41/images/load?quiet=1', 'load'],
    ['POST', '/v1.41/commit?container=abc&repo=x&tag=1', 'commit'],
    ['POST', '/v1.41/images/localhost:5000/busy/push?tag=t', 'push'],
    ['HEAD', '/_ping', 'other'],
    ['GET', '/v1.41/version', 'other'],
    ['GET', '/v1.41/images/create', 'other'],
    ['POST', '/v1.41/images/localhost:5000/busy:1/tag?repo=x&tag=t2', 'other'],
    ['POST', '/v1.41/containers/abc/attach?stream=1', 'other'],
    ['POST', '/v1.41/containers/abc/wait', 'other'],
    ['POST', '/v1.41/containers/create/extra', 'other'],
    ['POST', '/vx/containers/create', 'other'],
    ['DELETE', '/v1.41/images/x', 'other'],
  ];
  for (const [m, uri, kind] of cases) {
    it(`${m} ${uri} -> ${kind}`, () => {
      expect(classify(m, uri).kind).to.equal(kind);
    });
  }

  it('decodes query parameters (fromImage, tag with a digest)', () => {
    const c = classify('POST', '/v1.41/images/create?fromImage=localhost%3A5000%2Fbusy&tag=sha256%3Ae9a1');
    expect(c.query).to.deep.equal({ fromImage: 'localhost:5000/busy', tag: 'sha256:e9a1' });
  });

  it('gives the container id of start and the image of push', () => {
    expect(classify('POST', '/v1.41/containers/6147abc/start').target).to.equal('6147abc');
    expect(classify('POST', '/images/localhost:5000/busy/push?tag=1').target).to.equal('localhost:5000/busy');
  });

  it('tolerates missing method/uri (other)', () => {
    expect(classify(undefined, undefined).kind).to.equal('other');
  });
});

describe('guard: containers/create body handling', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('a member Go\'s case-insensitive JSON decoding would read as Image is refused (the engine would run that one)', () => {
    for (const k of ['image', 'IMAGE', 'iMaGe', '\u0131mage', '\u0130MAGE']) {
      expect(createImageFromBody(b64(JSON.stringify({ Image: 'localhost:5000/signed:1', [k]: 'localhost:5000/evil:1' }))), k).to.have.property('error').that.match(/reads as "Image"/);
    }
    expect(createImageFromBody(b64(JSON.stringify({ image: 'localhost:5000/evil:1' })))).to.have.property('error');
    expect(createImageFromBody(b64(JSON.stringify({ Image: 'a:1', Images: 'b:1', Labels: { image: 'x' } })))).to.deep.equal({ image: 'a:1' });
  });
  it('reads .Image as typed', () => {
    expect(createImageFromBody(b64(JSON.stringify({ Image: 'localhost:5000/busy:1', Cmd: ['x'] })))).to.deep.equal({ image: 'localhost:5000/busy:1' });
  });
  it('missing body (over 1 MiB, not forwarded) -> error', () => {
    expect(createImageFromBody(undefined)).to.have.property('error').that.match(/not forwarded/);
    expect(createImageFromBody('')).to.have.property('error');
    expect(createImageFromBody(null)).to.have.property('error');
  });
  it('garbled base64 or JSON -> error', () => {
    expect(createImageFromBody('%%%not base64')).to.have.property('error').that.match(/base64 JSON/);
    expect(createImageFromBody(b64('{"Image": "x"'))).to.have.property('error').that.match(/base64 JSON/);
    expect(createImageFromBody(b64('[1,2]'))).to.have.property('error').that.match(/object/);
  });
  it('no or empty Image -> error', () => {
    expect(createImageFromBody(b64('{}'))).to.have.property('error').that.match(/no image/);
    expect(createImageFromBody(b64('{"Image":"  "}'))).to.have.property('error');
    expect(createImageFromBody(b64('{"Image":42}'))).to.have.property('error');
  });
});
