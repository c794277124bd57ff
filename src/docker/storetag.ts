import { parseReference, formatReference } from '../oci/reference.js';

/**
 * The name under which the manifest of local image `image` is tagged in the store: the fully-qualified reference
 * with ":latest" added when no tag/digest was given (docker's default). Undefined for image IDs.
 */
export function storeTagFor(image: string, imageId?: string): string | undefined {
  const bare = image.startsWith('sha256:') ? image.slice(7) : image;
  if (/^[a-f0-9]{12,64}$/.test(bare) && (imageId === undefined || imageId.startsWith(`sha256:${bare}`))) return undefined;
  const r = parseReference(image);
  if (r.tag === undefined && r.digest === undefined) r.tag = 'latest';
  return formatReference(r);
}
