// A tiny one-layer OCI image (its layer is `text`, so different texts give different images) pushed into any
// ArtifactTarget (registry repository or OCI layout). Shared by tests and benches that need a real image manifest
// without building one in the engine.
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/mediaTypes.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import type { ArtifactTarget } from '../../src/oci/target.js';

export async function pushTinyImage(target: ArtifactTarget, text: string, tag: string, extraConfig: Record<string, unknown> = {}): Promise<{ desc: Descriptor; configDigest: Digest }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', ...extraConfig, rootfs: { type: 'layers', diff_ids: [sha256Digest(text)] } }));
  const layer = Buffer.from(text);
  const cfgDesc: Descriptor = { mediaType: MediaType.OCI_CONFIG, digest: sha256Digest(config), size: config.length };
  const layerDesc: Descriptor = { mediaType: MediaType.OCI_LAYER_TAR, digest: sha256Digest(layer), size: layer.length };
  await target.pushBlob(cfgDesc, config);
  await target.pushBlob(layerDesc, layer);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: cfgDesc, layers: [layerDesc] }));
  const desc: Descriptor = { mediaType: MediaType.OCI_MANIFEST, digest: sha256Digest(manifest), size: manifest.length };
  await target.pushManifest(desc, manifest, tag);
  return { desc, configDigest: cfgDesc.digest };
}
