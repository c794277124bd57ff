// Child process for the concurrency test in layout.test.ts: pushes N tagged manifests into the layout.
import { OciLayout } from '../../src/oci/layout.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { encodeJson } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/mediaTypes.js';

const [dir, id, n] = process.argv.slice(2);
const l = await OciLayout.open(dir);
for (let i = 0; i < Number(n); i++) {
  const cfg = Buffer.from('{}');
  await l.pushBlob({ mediaType: MediaType.OCI_CONFIG, digest: sha256Digest(cfg), size: cfg.length }, cfg); // blobs before the manifest needing them
  const bytes = encodeJson({
    schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: sha256Digest(cfg), size: cfg.length }, layers: [],
    annotations: { w: `${id}-${i}` },
  });
  await l.pushManifest({ mediaType: MediaType.OCI_MANIFEST, digest: sha256Digest(bytes), size: bytes.length }, bytes, `app:${id}-${i}`);
}
