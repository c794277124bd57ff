// A real OCI image layout on disk holding one tiny image tagged v1 (signing tests write signatures into it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Descriptor } from '../../src/oci/descriptor.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Descriptor['digest'];

/** A real OCI layout on disk holding one tiny image tagged v1. */
export function makeLayout(dir: string): Descriptor {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return d;
  };
  const cfg = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(cfg), size: cfg.length }, layers: [] }));
  const subject: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: put(m), size: m.length };
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...subject, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  return subject;
}

