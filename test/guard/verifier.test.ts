import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPaths } from '../../src/config/dir.js';
import { OciLayout } from '../../src/oci/layout.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { loadGuardConfig } from '../../plugins/guard/config.js';
import { sharedVerifier } from '../../plugins/guard/verifier.js';
import { PolicyState } from '../../plugins/guard/policy-hash.js';
import { decide, newCaches, type GuardDeps } from '../../plugins/guard/decide.js';
import { makeKey, writeTrust, type TestTrust } from './support/signing.js';
import { pushTinyImage } from '../support/tinyimage.js';

// The guard's local-store path with the REAL shared verifier and a real signature: an image manifest
// "generated and signed on this machine, never pushed" lives in <config>/store (an OCI layout) with its
// Notary signature as a referrer; a local image whose Id is that manifest's config digest may run.
async function addImage(layout: OciLayout, text: string, tag = 'localhost:5000/app:1'): Promise<{ desc: Descriptor; configDigest: string }> {
  return pushTinyImage(layout, text, tag, { config: { Cmd: ['x'] } });
}

async function signLocal(layout: OciLayout, subject: Descriptor, t: TestTrust): Promise<void> {
  const env = await createEnvelope({ payload: { targetArtifact: subject }, format: 'jws', signer: signerFromKey(t.key.privateKey, t.key.chain) });
  const built = buildSignatureManifest(subject, env, t.key.chain);
  await layout.pushBlob(built.config.descriptor, built.config.bytes);
  await layout.pushBlob(built.envelopeDescriptor, env.bytes);
  await layout.pushReferrer(built.descriptor, built.manifest, subject);
}

describe('guard: local store verification with the shared verifier (real signatures)', function () {
  this.timeout(30_000);
  let dir: string;
  let trust: TestTrust;
  before(async () => {
    trust = await makeKey('guard-local-test');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-guard-local-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function setup() {
    const paths = configPaths(dir);
    writeTrust(dir, trust);
    const layout = await OciLayout.open(paths.store, { create: true });
    const policy = new PolicyState({ trustPolicy: paths.trustPolicy, trustPolicyOci: paths.trustPolicyOci, trustStore: paths.trustStore }, 0);
    await policy.start();
    const verifier = await sharedVerifier(loadGuardConfig(paths), paths, { policyHash: () => policy.current() });
    return { paths, layout, policy, verifier };
  }

  it('a signed local manifest with config digest == image Id verifies; an unsigned one does not', async () => {
    const { layout, verifier, policy } = await setup();
    const signed = await addImage(layout, 'signed image');
    const unsigned = await addImage(layout, 'unsigned image', 'localhost:5000/other:1');
    await signLocal(layout, signed.desc, trust);
    const ac = new AbortController();
    const ok = await verifier.verifyLocal(signed.configDigest, ac.signal);
    expect(ok?.verified, ok?.reason).to.equal(true);
    expect(ok?.digest).to.equal(signed.desc.digest);
    expect(ok?.policy).to.equal('guard-test');
    const no = await verifier.verifyLocal(unsigned.configDigest, ac.signal);
    expect(no?.verified).to.equal(false);
    expect(no?.reason).to.match(/no signature/i);
    expect(await verifier.verifyLocal('sha256:' + '0'.repeat(64), ac.signal)).to.equal(null);
    policy.stop();
  });

  it('decide(containers/create) allows a never-pushed image signed in the local store, denies after a policy change', async () => {
    const { layout, verifier, policy, paths } = await setup();
    const img = await addImage(layout, 'local only');
    await signLocal(layout, img.desc, trust);
    const deps: GuardDeps = {
      inspectImage: async (ref) => (ref === 'app:local' ? { Id: img.configDigest, RepoDigests: [] } : null),
      containerImage: async () => null,
      resolveTag: async () => { throw new Error('no registry in this test'); },
      configDigests: async () => [],
      verify: async () => { throw new Error('no registry in this test'); },
      verifyLocal: (id, s) => verifier.verifyLocal(id, s),
      policyHash: () => policy.current(),
      now: () => Date.now(),
    };
    const caches = newCaches();
    const req = { RequestMethod: 'POST', RequestUri: '/v1.41/containers/create', RequestBody: Buffer.from(JSON.stringify({ Image: 'app:local' })).toString('base64') };
    const d = await decide(req, deps, {}, caches);
    expect(d.allow, d.msg).to.equal(true);
    expect(d.reason).to.include('local store');
    expect((await decide(req, deps, {}, caches)).cached).to.equal(true);
    // another identity only: the old signature no longer satisfies the policy; the new policy hash misses the cache
    writeTrust(dir, trust, { identities: ['x509.subject: C=US, ST=WA, O=Someone Else, CN=other'] });
    policy.markDirty();
    const d2 = await decide(req, deps, {}, caches);
    expect(d2.allow).to.equal(false);
    expect(d2.msg).to.include('guard-test');
    expect(d2.msg).to.include('authenticity');
    expect(d2.msg).to.match(/local store/);
    writeFileSync(paths.trustPolicy, '{ not json');
    policy.markDirty();
    const d3 = await decide(req, deps, {}, caches);
    expect(d3.allow).to.equal(false);
    policy.stop();
  });
});
