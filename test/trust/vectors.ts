/** Loads the notation interop vectors (shared set, or the public copy in test/fixtures/notation) into a MemoryTarget, exact bytes. */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryTarget } from './memory-target.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { MediaType } from '../../src/oci/mediaTypes.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shared = join(repoRoot, '..', 'shared', 'vectors', 'notation');

/**
 * Where the vectors are: $DS_NOTATION_VECTORS, else the team's shared copy next to the repository (which may hold
 * more cases than the public set), else the public set copied into test/fixtures/notation.
 */
export const VECTORS = process.env.DS_NOTATION_VECTORS ?? (existsSync(join(shared, 'trustpolicy.json')) ? shared : join(repoRoot, 'test', 'fixtures', 'notation'));

export interface VectorCase {
  name: string;
  dir: string;
  expected: { expect: 'valid' | 'invalid'; notationVerify: { exit: number; message: string; detail: string[] }; registryReference: string; trustPolicy?: unknown };
  subject: Descriptor;
  subjectBytes: Buffer;
  signatureManifest: Buffer;
  signatureDescriptor: Descriptor;
  envelope: Buffer;
  envelopeMediaType: string;
  referrersIndex: Buffer;
}

export function vectorCases(): VectorCase[] {
  return readdirSync(VECTORS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(VECTORS, d.name, 'expected.json')))
    .map((d) => loadCase(d.name));
}

export function loadCase(name: string): VectorCase {
  const dir = join(VECTORS, name);
  const j = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const sigs = j('signatures.json').signatures[0];
  return {
    name,
    dir,
    expected: j('expected.json'),
    subject: j('subject-descriptor.json'),
    subjectBytes: readFileSync(join(dir, 'subject-manifest.json')),
    signatureManifest: readFileSync(join(dir, sigs.signatureManifest)),
    signatureDescriptor: sigs.signatureManifestDescriptor,
    envelope: readFileSync(join(dir, sigs.envelope)),
    envelopeMediaType: sigs.envelopeMediaType,
    referrersIndex: readFileSync(join(dir, 'referrers-index.json')),
  };
}

/** The registry content of one case: subject manifest, signature manifest, config `{}`, envelope, referrers from the recorded index. */
export function targetFor(c: VectorCase): MemoryTarget {
  const t = new MemoryTarget();
  t.addManifest(c.subject.mediaType, c.subjectBytes, 'v1');
  t.addManifest(MediaType.OCI_MANIFEST, c.signatureManifest);
  t.addBlob(Buffer.from('{}'));
  t.addBlob(c.envelope);
  const index = JSON.parse(c.referrersIndex.toString('utf8')) as { manifests: Descriptor[] };
  for (const d of index.manifests) t.addReferrer(c.subject.digest, d);
  return t;
}
