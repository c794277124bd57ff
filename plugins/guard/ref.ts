/**
 * Minimal image-reference handling for the guard: what `fromImage`/`tag` and RepoDigests entries name.
 * Docker's normalisation: a first path component with a '.' or ':' or equal to "localhost" is a registry host,
 * else the image is on Docker Hub (`docker.io`, one-component names under `library/`).
 */
export interface ImageRef {
  /** registry host[:port], e.g. "127.0.0.1:5000" or "docker.io" */
  registry: string;
  /** repository path, e.g. "app" or "library/busybox" */
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export class RefError extends Error {}

export function isDigestString(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Parses `name[:tag][@digest]` with Docker's normalisation. Throws RefError on anything malformed. */
export function parseImageRef(input: string): ImageRef {
  if (typeof input !== 'string' || input.length === 0 || input.length > 1024) throw new RefError('empty or oversized image reference');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new RefError(`invalid digest in "${input}"`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new RefError(`invalid tag in "${input}"`);
  }
  let registry = 'docker.io';
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!REPO_RE.test(repository)) throw new RefError(`invalid repository name in "${input}"`);
  return { registry, repository, tag, digest };
}

export function repoName(r: ImageRef): string {
  return `${r.registry}/${r.repository}`;
}

export function formatRef(r: ImageRef): string {
  return `${repoName(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
