/**
 * Registry client entry point. `openRepository("127.0.0.1:5000/app")` gives a RemoteRepository (an
 * ArtifactTarget) for the repository; a tag/digest in the reference is ignored here (pass it to resolve()).
 */
import { parseReference, type Reference } from '../oci/reference.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { RemoteRepository } from './repository.js';

export { RegistryClient, closeConnections, allowsPlainHttp, isLoopback, INSECURE_ENV, type RegistryOptions } from './client.js';
export {
  RemoteRepository, referrersTag, referrerDescriptor, nextLink, DEFAULT_MAX_BLOB_IN_MEMORY, DEFAULT_CHUNK_SIZE,
  type BlobContent, type PushReferrerOptions,
} from './repository.js';
export { RegistryError, parseErrorBody, type RegistryErrorCode, type RegistryErrorEntry } from './errors.js';
export { resolveCredentials, runCredentialHelper, type Credentials } from './credentials.js';
export { parseChallenges, type Challenge } from './auth.js';
export { mapLimit } from './concurrency.js';

export function openRepository(ref: Reference | string, opts: RegistryOptions = {}): RemoteRepository {
  const r = typeof ref === 'string' ? parseReference(ref) : ref;
  return new RemoteRepository(r, new RegistryClient(r.registry, opts));
}
