// Test helpers: a trust policy + trust store in a config dir, and Notary Project signatures attached to an
// image in a registry (or removed again), built with the project's own signing primitives (src/pki,
// src/signature, src/registry) — real signatures the shared verifier checks.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTestKey, type GeneratedKey } from '../../../src/pki/generate.js';
import { signerFromKey } from '../../../src/pki/keys.js';
import { createEnvelope, buildSignatureManifest } from '../../../src/signature/index.js';
import { openRepository, referrersTag } from '../../../src/registry/index.js';
import { sha256Digest } from '../../../src/oci/digest.js';

export interface TestTrust {
  key: GeneratedKey;
  name: string;
  subject: string;
}

export async function makeKey(name: string): Promise<TestTrust> {
  const subject = `C=US, ST=WA, L=Seattle, O=Notary, CN=${name}`;
  const key = await generateTestKey({ name, type: 'ec-p256', subject });
  return { key, name, subject };
}

/** trustpolicy.json (one statement) + the key's root in truststore/x509/ca/<store>. */
export function writeTrust(configDir: string, t: TestTrust, opts: { policyName?: string; scopes?: string[]; identities?: string[]; level?: string; store?: string } = {}): void {
  const store = opts.store ?? t.name;
  const dir = join(configDir, 'truststore', 'x509', 'ca', store);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'root.crt'), t.key.rootPem);
  const policy = {
    version: '1.0',
    trustPolicies: [
      {
        name: opts.policyName ?? 'guard-test',
        registryScopes: opts.scopes ?? ['*'],
        signatureVerification: { level: opts.level ?? 'strict' },
        trustStores: [`ca:${store}`],
        trustedIdentities: opts.identities ?? [`x509.subject: ${t.subject}`],
      },
    ],
  };
  writeFileSync(join(configDir, 'trustpolicy.json'), JSON.stringify(policy, null, 2));
}

/** Signs `<registry>/<repo>@<digest>` (or :tag) and attaches the signature (referrers API or tag schema). */
export async function signRemote(reference: string, t: TestTrust): Promise<{ subject: string; signature: string }> {
  const at = reference.lastIndexOf('@');
  const name = at > 0 ? reference.slice(0, at) : reference.slice(0, reference.lastIndexOf(':'));
  const sel = at > 0 ? reference.slice(at + 1) : reference.slice(reference.lastIndexOf(':') + 1);
  const repo = openRepository(name, { credentials: null, timeoutMs: 20_000 });
  const subject = await repo.resolve(sel);
  const signer = signerFromKey(t.key.privateKey, t.key.chain);
  const env = await createEnvelope({ payload: { targetArtifact: subject }, format: 'jws', signer });
  const built = buildSignatureManifest(subject, env, t.key.chain);
  await repo.pushBlob(built.config.descriptor, built.config.bytes);
  await repo.pushBlob(built.envelopeDescriptor, env.bytes);
  await repo.pushReferrer(built.descriptor, built.manifest, subject);
  return { subject: subject.digest, signature: built.descriptor.digest };
}

/** Removes a signature: deletes the signature manifest and the referrers tag-schema index that listed it. */
export async function unsignRemote(name: string, subjectDigest: string, signatureDigest: string): Promise<void> {
  const repo = openRepository(name, { credentials: null, timeoutMs: 20_000 });
  await repo.deleteManifest(signatureDigest).catch(() => undefined);
  try {
    const idx = await repo.resolve(referrersTag(subjectDigest));
    await repo.deleteManifest(idx.digest);
  } catch {
    // registry with the Referrers API: nothing else to remove
  }
}

export { sha256Digest };
