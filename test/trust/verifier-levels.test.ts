import { expect } from 'chai';
import { Verifier, LruContentCache, type VerificationReport } from '../../src/trust/verifier.js';
import { validateTrustPolicy } from '../../src/trust/policy.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import type { RevocationChecker } from '../../src/trust/revocation.js';
import { generateTestKey, type GeneratedKey } from '../../src/pki/generate.js';
import { signerFromKey } from '../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../src/signature/index.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { MemoryTarget } from './memory-target.js';

const WABBIT_DN = 'C=US, ST=WA, L=Seattle, O=Wabbit Networks, CN=Wabbit Networks Signer';
const ACME_DN = 'C=US, ST=WA, L=Seattle, O=Acme Rockets, CN=Acme Release';
const REPO = 'registry.example:5000/net-monitor';
const HOUR = 3_600_000;

async function sign(t: MemoryTarget, subject: Descriptor, key: GeneratedKey, opts: { expiry?: Date; signingTime?: Date; format?: 'jws' | 'cose'; metadata?: Record<string, string> } = {}) {
  const env = await createEnvelope({
    payload: { targetArtifact: opts.metadata ? { ...subject, annotations: opts.metadata } : subject },
    format: opts.format ?? 'jws',
    signer: signerFromKey(key.privateKey, key.chain, opts.signingTime),
    ...(opts.signingTime ? { signingTime: opts.signingTime } : {}),
    ...(opts.expiry ? { expiry: opts.expiry } : {}),
  });
  const built = buildSignatureManifest(subject, env, key.chain);
  t.addBlob(built.config.bytes);
  t.addBlob(env.bytes);
  await t.pushReferrer(built.descriptor, built.manifest, subject);
  return { desc: built.descriptor, envelope: built.envelopeDescriptor };
}

function policy(level: string, identities: string[], extra: Record<string, unknown> = {}, stores = ['ca:wabbit', 'ca:acme']) {
  return validateTrustPolicy({
    version: '1.0',
    trustPolicies: [{ name: 'net-monitor', registryScopes: [REPO], signatureVerification: { level, ...extra }, trustStores: stores, trustedIdentities: identities }],
  });
}

function check(r: VerificationReport, sig: number, name: string) {
  return r.signatures[sig]!.checks.find((c) => c.name === name)!;
}

describe('verifier: levels, overrides and failure reasons (freshly signed artifacts)', function () {
  this.timeout(60_000);
  let wabbit: GeneratedKey;
  let acme: GeneratedKey;
  let shortLived: GeneratedKey;
  let store: MemoryTrustStore;
  let subject: Descriptor;
  const subjectBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: { mediaType: MediaType.OCI_EMPTY, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, layers: [] }));

  before(async () => {
    [wabbit, acme, shortLived] = await Promise.all([
      generateTestKey({ name: 'Wabbit Networks', type: 'ec-p256', subject: WABBIT_DN }),
      generateTestKey({ name: 'Acme Rockets', type: 'ec-p256', subject: ACME_DN }),
      generateTestKey({ name: 'Short', type: 'ec-p256', subject: WABBIT_DN, days: 1 }),
    ]);
    store = new MemoryTrustStore().set('ca', 'wabbit', [wabbit.chain[1]!, shortLived.chain[1]!]).set('ca', 'acme', [acme.chain[1]!]);
  });

  function freshTarget(): MemoryTarget {
    const t = new MemoryTarget();
    subject = t.addManifest(MediaType.OCI_MANIFEST, subjectBytes, 'v1');
    return t;
  }

  it('multi-party: a policy requiring the second party passes only once its signature exists', async () => {
    const t = freshTarget();
    await sign(t, subject, wabbit);
    const v = new Verifier({ policy: policy('strict', [`x509.subject: ${ACME_DN}`]), trustStore: store });
    const before = await v.verify({ target: t, descriptor: subject, repository: REPO });
    expect(before.verified).to.equal(false);
    expect(before.code).to.equal('TRUSTED_IDENTITY');
    expect(before.signatures[0]!.failedCheck).to.equal('authenticity');
    expect(before.reason).to.match(/does not match the X.509 trusted identities/);
    const second = await sign(t, subject, acme, { format: 'cose' });
    const after = await v.verify({ target: t, descriptor: subject, repository: REPO });
    expect(after.verified).to.equal(true);
    expect(after.verifiedBy).to.equal(second.desc.digest);
    expect(after.signatures.map((s) => s.verified)).to.deep.equal([false, true]);
  });

  it('audit: authenticity failures are logged and the artifact is allowed; integrity is still enforced', async () => {
    const t = freshTarget();
    const s = await sign(t, subject, wabbit);
    const r = await new Verifier({ policy: policy('audit', [`x509.subject: ${ACME_DN}`]), trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified).to.equal(true);
    expect(check(r, 0, 'authenticity')).to.include({ status: 'fail', action: 'log' });
    expect(r.warnings.join('\n')).to.match(/authenticity validation failed with validation action set to "logged"/);
    // integrity still enforced under audit: re-sign the envelope bytes with a flipped payload byte
    const env = t.blobs.get(s.envelope.digest)!;
    const j = JSON.parse(env.toString());
    const payload = Buffer.from(j.payload, 'base64url').toString().replace(`"size":${subject.size}`, `"size":${subject.size + 1}`);
    j.payload = Buffer.from(payload).toString('base64url');
    const t2 = freshTarget();
    const bad = Buffer.from(JSON.stringify(j));
    const built = buildSignatureManifest(subject, { bytes: bad, mediaType: MediaType.JWS }, wabbit.chain);
    t2.addBlob(built.config.bytes);
    t2.addBlob(bad);
    await t2.pushReferrer(built.descriptor, built.manifest, subject);
    const r2 = await new Verifier({ policy: policy('audit', ['*']), trustStore: store }).verify({ target: t2, descriptor: subject, repository: REPO });
    expect(r2.verified).to.equal(false);
    expect(r2.code).to.equal('INTEGRITY');
  });

  it('user metadata (notation verify -m): only a signature carrying every pair counts; skip ignores it', async () => {
    const t = freshTarget();
    await sign(t, subject, wabbit, { metadata: { buildId: '122' } });
    const second = await sign(t, subject, wabbit, { format: 'cose', metadata: { buildId: '123', branch: 'main' } });
    const v = (userMetadata: Record<string, string>, level = 'strict') =>
      new Verifier({ policy: policy(level, ['*']), trustStore: store, userMetadata }).verify({ target: t, descriptor: subject, repository: REPO });
    const ok = await v({ buildId: '123' });
    expect(ok.verified).to.equal(true);
    expect(ok.verifiedBy).to.equal(second.desc.digest);
    expect(ok.userMetadata).to.deep.equal({ buildId: '123', branch: 'main' });
    expect(ok.signatures[0]).to.include({ verified: false, code: 'USER_METADATA', failedCheck: 'userMetadata' });
    expect(ok.signatures[0]!.reason).to.include('buildId=123');
    const none = await v({ buildId: '123', branch: 'dev' });
    expect(none.verified).to.equal(false);
    expect(none.code).to.equal('USER_METADATA');
    expect(none.reason).to.equal('unable to find specified metadata in any signatures');
    // without -m the first signature satisfies the policy and its metadata is reported
    const plain = await new Verifier({ policy: policy('strict', ['*']), trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(plain.userMetadata).to.deep.equal({ buildId: '122' });
    // a signature failing an enforced check is not rescued by its metadata
    const untrusted = await new Verifier({ policy: policy('strict', [`x509.subject: ${ACME_DN}`]), trustStore: store, userMetadata: { buildId: '123' } })
      .verify({ target: t, descriptor: subject, repository: REPO });
    expect(untrusted.verified).to.equal(false);
    expect(untrusted.code).to.equal('TRUSTED_IDENTITY');
  });

  it('audit with no signature at all is still a failure (NO_SIGNATURE), like notation', async () => {
    const t = freshTarget();
    const r = await new Verifier({ policy: policy('audit', ['*']), trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified).to.equal(false);
    expect(r.code).to.equal('NO_SIGNATURE');
    expect(r.reason).to.match(/no signature is associated with/);
  });

  it('skip: allowed without fetching signatures (referrers never called)', async () => {
    const t = freshTarget();
    const p = validateTrustPolicy({ version: '1.0', trustPolicies: [{ name: 'unsigned', registryScopes: [REPO], signatureVerification: { level: 'skip' } }] });
    const r = await new Verifier({ policy: p, trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified).to.equal(true);
    expect(r.level).to.equal('skip');
    expect(r.signatures).to.deep.equal([]);
    expect(t.calls).to.deep.equal([]);
  });

  it('no matching registry scope → denied with the reason, nothing fetched', async () => {
    const t = freshTarget();
    await sign(t, subject, wabbit);
    t.calls.length = 0;
    const r = await new Verifier({ policy: policy('strict', ['*']), trustStore: store }).verify({ target: t, descriptor: subject, repository: 'registry.example:5000/other' });
    expect(r.verified).to.equal(false);
    expect(r.code).to.equal('NO_APPLICABLE_POLICY');
    expect(r.policy).to.equal(null);
    expect(r.reason).to.match(/registry.example:5000\/other.*no applicable trust policy/);
    expect(t.calls).to.deep.equal([]);
  });

  it('expired certificate: strict fails authenticTimestamp; permissive logs it and allows', async () => {
    const t = freshTarget();
    await sign(t, subject, shortLived);
    const later = new Date(Date.now() + 3 * 24 * HOUR);
    const strict = await new Verifier({ policy: policy('strict', ['*']), trustStore: store, now: later }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(strict.verified).to.equal(false);
    expect(strict.code).to.equal('AUTHENTIC_TIMESTAMP');
    expect(strict.signatures[0]!.reason).to.match(/verification time is after certificate .* validity period, it was expired at/);
    const perm = await new Verifier({ policy: policy('permissive', ['*']), trustStore: store, now: later }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(perm.verified).to.equal(true);
    expect(check(perm, 0, 'authenticTimestamp')).to.include({ status: 'fail', action: 'log' });
  });

  it('signature expiry: strict fails EXPIRY; override expiry=log allows', async () => {
    const t = freshTarget();
    await sign(t, subject, wabbit, { expiry: new Date(Date.now() + HOUR) });
    const later = new Date(Date.now() + 2 * HOUR);
    const r = await new Verifier({ policy: policy('strict', ['*']), trustStore: store, now: later }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified).to.equal(false);
    expect(r.code).to.equal('EXPIRY');
    expect(r.signatures[0]!.reason).to.match(/digital signature has expired on/);
    expect(check(r, 0, 'authenticTimestamp').status).to.equal('skipped');
    const o = await new Verifier({ policy: policy('strict', ['*'], { override: { expiry: 'log' } }), trustStore: store, now: later }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(o.verified).to.equal(true);
    expect(o.level).to.equal('strict');
    expect(check(o, 0, 'expiry')).to.include({ status: 'fail', action: 'log' });
    const now = await new Verifier({ policy: policy('strict', ['*']), trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(now.verified).to.equal(true);
  });

  it('missing trust store → authenticity fails naming the store (fail closed)', async () => {
    const t = freshTarget();
    await sign(t, subject, wabbit);
    const r = await new Verifier({ policy: policy('strict', ['*'], {}, ['ca:nope']), trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified).to.equal(false);
    expect(r.code).to.equal('AUTHENTICITY');
    expect(r.signatures[0]!.reason).to.match(/trust store "ca:nope" does not exist/);
  });

  it('signer chained to a root of another store is not trusted; "*" identity accepts any anchored signer', async () => {
    const t = freshTarget();
    await sign(t, subject, acme);
    const only = await new Verifier({ policy: policy('strict', ['*'], {}, ['ca:wabbit']), trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(only.code).to.equal('AUTHENTICITY');
    const any = await new Verifier({ policy: policy('strict', ['*']), trustStore: store }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(any.verified).to.equal(true);
  });

  it('revocation: the hook decides; revoked fails strict, override revocation=skip does not call it', async () => {
    const t = freshTarget();
    await sign(t, subject, wabbit);
    let calls = 0;
    const revoked: RevocationChecker = {
      async check(chain) {
        calls++;
        return chain.map((_, i) => (i === 0 ? { status: 'revoked' as const, detail: 'test CRL' } : { status: 'ok' as const }));
      },
    };
    const r = await new Verifier({ policy: policy('strict', ['*']), trustStore: store, revocation: revoked }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.code).to.equal('REVOCATION');
    expect(r.signatures[0]!.reason).to.match(/is revoked/);
    const s = await new Verifier({ policy: policy('strict', ['*'], { override: { revocation: 'skip' } }), trustStore: store, revocation: revoked }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(s.verified).to.equal(true);
    expect(check(s, 0, 'revocation')).to.include({ status: 'skipped', action: 'skip' });
    expect(calls).to.equal(1);
  });

  it('a tsa store in the policy requires a timestamp countersignature (none here → authenticTimestamp fails)', async () => {
    const t = freshTarget();
    await sign(t, subject, wabbit);
    const st = new MemoryTrustStore().set('ca', 'wabbit', [wabbit.chain[1]!]).set('tsa', 'ts', [acme.chain[1]!]);
    const r = await new Verifier({ policy: policy('strict', ['*'], {}, ['ca:wabbit', 'tsa:ts']), trustStore: st }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.code).to.equal('AUTHENTIC_TIMESTAMP');
    expect(r.signatures[0]!.reason).to.match(/no timestamp countersignature/);
  });

  it('stops after maxSignatures failing signatures', async () => {
    const t = freshTarget();
    await sign(t, subject, acme);
    await sign(t, subject, acme, { format: 'cose' });
    await sign(t, subject, wabbit);
    const r = await new Verifier({ policy: policy('strict', [`x509.subject: ${WABBIT_DN}`]), trustStore: store, maxSignatures: 2 }).verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified).to.equal(false);
    expect(r.code).to.equal('MAX_SIGNATURES');
    expect(r.signatures).to.have.length(2);
  });

  it('content cache: signature manifest and envelope reused by digest; tag and referrers always fetched live', async () => {
    const t = freshTarget();
    const s = await sign(t, subject, wabbit);
    const v = new Verifier({ policy: policy('strict', ['*']), trustStore: store, cache: new LruContentCache() });
    expect((await v.verify({ target: t, descriptor: subject, repository: REPO })).verified).to.equal(true);
    t.calls.length = 0;
    const again = await v.verify({ target: t, descriptor: subject, repository: REPO });
    expect(again.verified).to.equal(true);
    expect(t.calls).to.deep.equal([`referrers ${subject.digest}`]);
    // a new signature appears: found through the live referrers list
    t.calls.length = 0;
    await sign(t, subject, acme);
    const v2 = new Verifier({ policy: policy('strict', [`x509.subject: ${ACME_DN}`]), trustStore: store, cache: new LruContentCache() });
    const r = await v2.verify({ target: t, descriptor: subject, repository: REPO });
    expect(r.verified).to.equal(true);
    expect(r.signatures[0]!.digest).to.equal(s.desc.digest);
  });
});

describe('assertVerified', () => {
  it('throws a VerificationError with the report code and the failing check, passes verified reports', async () => {
    const { assertVerified } = await import('../../src/trust/index.js');
    const { VerificationError } = await import('../../src/trust/errors.js');
    const base = { reference: 'r.io/a@sha256:' + 'a'.repeat(64), repository: 'r.io/a', digest: 'sha256:' + 'a'.repeat(64), descriptor: { mediaType: MediaType.OCI_MANIFEST, digest: `sha256:${'a'.repeat(64)}` as const, size: 1 }, policy: 'p', level: 'strict' as const, warnings: [] };
    expect(() => assertVerified({ ...base, verified: true, signatures: [] })).not.to.throw();
    try {
      assertVerified({ ...base, verified: false, code: 'EXPIRY', reason: 'signature verification failed for all the signatures associated with x (expiry: expired)', signatures: [{ digest: 'sha256:x', verified: false, checks: [], failedCheck: 'expiry', code: 'EXPIRY' }] });
      expect.fail('did not throw');
    } catch (e) {
      expect(e).to.be.instanceOf(VerificationError);
      expect((e as InstanceType<typeof VerificationError>).code).to.equal('EXPIRY');
      expect((e as InstanceType<typeof VerificationError>).check).to.equal('expiry');
      expect((e as InstanceType<typeof VerificationError>).exitCode).to.equal(1);
    }
  });
});
