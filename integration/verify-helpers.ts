/** Helpers for the verify integration tests: services, vector upload (exact bytes), signing, running the CLI. */
import { execFile } from 'node:child_process';
import { mkdtemp, cp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openRepository } from '../src/registry/index.js';
import { MediaType } from '../src/oci/mediaTypes.js';
import { digestOf } from '../src/oci/digest.js';
import type { Descriptor } from '../src/oci/descriptor.js';
import { createEnvelope, buildSignatureManifest } from '../src/signature/index.js';
import { signerFromKey } from '../src/pki/keys.js';
import { generateTestKey, type GeneratedKey } from '../src/pki/generate.js';
import { loadCase, VECTORS } from '../test/trust/vectors.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'docker-sign.js');

/** Fails (never skips) when the services are not configured. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: start the services (bash scripts/services.sh start) and eval "$(bash scripts/services.sh env)"`);
  return v;
}

export function uniqueRepo(prefix: string): string {
  return `verify-it/${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Puts one vector case into a Distribution registry, exact bytes: the subject manifest (its config/layer blobs are
 * not part of the vectors, and Distribution refuses a manifest PUT whose blobs are missing, so the manifest is
 * written into the registry's filesystem storage under its digest and linked into the repository and tag), then
 * config `{}`, envelope and signature manifest through the API, and the recorded referrers tag-schema index under
 * the tag `sha256-<subject hex>`.
 */
export async function pushVectorCase(registry: string, repo: string, caseName: string): Promise<{ subject: Descriptor; signature: Descriptor; envelope: Descriptor }> {
  const data = requireEnv('DS_REGISTRY_DATA');
  const c = loadCase(caseName);
  const v2 = join(data, 'docker', 'registry', 'v2');
  const hex = c.subject.digest.slice('sha256:'.length);
  const blobDir = join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex);
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(blobDir, 'data'), c.subjectBytes);
  const mdir = join(v2, 'repositories', repo, '_manifests');
  for (const d of [join(mdir, 'revisions', 'sha256', hex), join(mdir, 'tags', 'v1', 'current'), join(mdir, 'tags', 'v1', 'index', 'sha256', hex)]) {
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'link'), c.subject.digest);
  }
  const r = openRepository(`${registry}/${repo}`);
  await r.pushBlob({ mediaType: MediaType.NOTARY_SIGNATURE, digest: digestOf(Buffer.from('{}')), size: 2 }, Buffer.from('{}'));
  const sm = JSON.parse(c.signatureManifest.toString('utf8'));
  const envelope: Descriptor = sm.layers[0];
  await r.pushBlob(envelope, c.envelope);
  await r.pushManifest({ mediaType: MediaType.OCI_MANIFEST, digest: c.signatureDescriptor.digest, size: c.signatureDescriptor.size }, c.signatureManifest);
  await r.pushManifest({ mediaType: MediaType.OCI_INDEX, digest: digestOf(c.referrersIndex), size: c.referrersIndex.length }, c.referrersIndex, `sha256-${hex}`);
  return { subject: c.subject, signature: c.signatureDescriptor, envelope };
}

/** Signs `subject` in `registry/repo` with `key` and pushes the signature (the signing engineer's code, notation layout). */
export async function signRemote(registry: string, repo: string, subject: Descriptor, key: GeneratedKey, opts: { format?: 'jws' | 'cose'; expiry?: Date } = {}): Promise<{ signature: Descriptor; envelope: Descriptor }> {
  const env = await createEnvelope({ payload: { targetArtifact: subject }, format: opts.format ?? 'jws', signer: signerFromKey(key.privateKey, key.chain), ...(opts.expiry ? { expiry: opts.expiry } : {}) });
  const built = buildSignatureManifest(subject, env, key.chain);
  const r = openRepository(`${registry}/${repo}`);
  await r.pushBlob(built.config.descriptor, built.config.bytes);
  await r.pushBlob(built.envelopeDescriptor, env.bytes);
  await r.pushReferrer(built.descriptor, built.manifest, subject);
  return { signature: built.descriptor, envelope: built.envelopeDescriptor };
}

/** Pushes a small OCI image manifest (empty config, one tiny layer) and returns its descriptor. */
export async function pushTestImage(registry: string, repo: string, tag = 'v1'): Promise<Descriptor> {
  const r = openRepository(`${registry}/${repo}`);
  const config = Buffer.from('{}');
  const layer = Buffer.from(`layer ${randomBytes(8).toString('hex')}`);
  const configDesc: Descriptor = { mediaType: MediaType.OCI_EMPTY, digest: digestOf(config), size: config.length };
  const layerDesc: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length };
  await r.pushBlob(configDesc, config);
  await r.pushBlob(layerDesc, layer);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: configDesc, layers: [layerDesc] }));
  const desc: Descriptor = { mediaType: MediaType.OCI_MANIFEST, digest: digestOf(manifest), size: manifest.length };
  await r.pushManifest(desc, manifest, tag);
  return desc;
}

/** A config dir in notation's layout: trustpolicy.json + truststore/x509/<type>/<name>/*.crt */
export async function makeConfig(policy: unknown, stores: Record<string, string[]> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ds-verify-it-'));
  await writeFile(join(dir, 'trustpolicy.json'), JSON.stringify(policy, null, 2));
  for (const [label, pems] of Object.entries(stores)) {
    const [type, name] = label.split(':') as [string, string];
    const d = join(dir, 'truststore', 'x509', type, name);
    await mkdir(d, { recursive: true });
    await Promise.all(pems.map((p, i) => writeFile(join(d, `cert${i}.crt`), p)));
  }
  return dir;
}

export async function vectorConfig(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ds-verify-vec-'));
  const v = VECTORS;
  await cp(join(v, 'trustpolicy.json'), join(dir, 'trustpolicy.json'));
  await cp(join(v, 'truststore'), join(dir, 'truststore'), { recursive: true });
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      res({ code: typeof code === 'number' ? code : 1, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A CA + code-signing leaf (the test PKI, ECDSA P-256) valid only in [from, to], for "expired certificate" cases. */
export async function generateChainValidBetween(subject: string, from: Date, to: Date): Promise<GeneratedKey> {
  return generateTestKey({ name: 'Expired Test', type: 'ec-p256', subject, validity: { notBefore: from, notAfter: to } });
}

/** Signs at a chosen signing time (the chain must be valid then). */
export async function signRemoteAt(registry: string, repo: string, subject: Descriptor, key: GeneratedKey, signingTime: Date): Promise<{ signature: Descriptor; envelope: Descriptor }> {
  const env = await createEnvelope({ payload: { targetArtifact: subject }, format: 'jws', signer: signerFromKey(key.privateKey, key.chain, signingTime), signingTime });
  const built = buildSignatureManifest(subject, env, key.chain, signingTime);
  const r = openRepository(`${registry}/${repo}`);
  await r.pushBlob(built.config.descriptor, built.config.bytes);
  await r.pushBlob(built.envelopeDescriptor, env.bytes);
  await r.pushReferrer(built.descriptor, built.manifest, subject);
  return { signature: built.descriptor, envelope: built.envelopeDescriptor };
}

/** Path of a blob's data file in Distribution's filesystem storage. */
export function registryBlobPath(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1);
  return join(requireEnv('DS_REGISTRY_DATA'), 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}
