/**
 * Image references as Docker users type them ("app:1", "localhost:5000/team/app@sha256:…"), parsed and
 * normalized the way the docker CLI does (distribution/reference "normalized named" rules):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path            (path = the distribution spec's repository name grammar)
 *   domain     := host [ ":" port ]              (the first component is a domain only when it contains "."
 *                                                 or ":", is "localhost", or has upper-case letters)
 *   tag        := [\w][\w.-]{0,127}
 *
 * Normalization: no domain → docker.io; "index.docker.io" → docker.io; a single-component path on docker.io
 * gets "library/" in front. The API host for docker.io is registry-1.docker.io (see registryApiHost).
 */
import { InputError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';

export interface Reference {
  /** Registry host as the user names it, with port if any (e.g. "docker.io", "127.0.0.1:5000", "[::1]:5000"). */
  registry: string;
  /** Repository path inside the registry (e.g. "library/alpine", "team/app"). */
  repository: string;
  tag?: string;
  digest?: Digest;
}

export const DEFAULT_REGISTRY = 'docker.io';
export const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
/** Where the Docker Hub registry API actually lives. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** Key used for Docker Hub in ~/.docker/config.json `auths` and for credential helpers. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

const MAX_NAME_LENGTH = 255;

/** distribution spec: one path component of a repository name. */
const PATH_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);

function invalid(s: string, why: string, hint?: string): never {
  throw new InputError('INVALID_REFERENCE', `invalid reference "${s}": ${why}`, {
    hint: hint ?? 'use [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. localhost:5000/team/app:1',
  });
}

export function isValidTag(t: string): boolean {
  return TAG_RE.test(t);
}

export function isValidRepository(p: string): boolean {
  return p.length > 0 && p.length <= MAX_NAME_LENGTH && PATH_RE.test(p);
}

/** Parses and normalizes a reference; throws InputError INVALID_REFERENCE on malformed input. */
export function parseReference(s: string): Reference {
  if (typeof s !== 'string' || s.length === 0) invalid(String(s), 'empty reference');
  if (s !== s.trim() || /\s/.test(s)) invalid(s, 'contains whitespace');
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(d)) {
      invalid(s, `bad digest "${d}"`, 'a digest is sha256:<64 lowercase hex> (or sha512:<128 hex>)');
    }
    digest = d;
  }
  // A tag follows the last ':' that comes after the last '/' (a ':' before that belongs to a port).
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) {
      invalid(s, `bad tag "${tag}"`, 'a tag is up to 128 characters of [A-Za-z0-9_.-] and must not start with "." or "-"');
    }
  }
  if (rest.length === 0) invalid(s, 'missing repository name');

  let registry: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first)) {
    registry = first;
    path = rest.slice(slash + 1);
    if (!HOST_RE.test(registry)) invalid(s, `bad registry host "${registry}"`);
    const port = /:(\d+)$/.exec(registry);
    if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) invalid(s, `bad port ${port[1]}`);
  } else {
    registry = DEFAULT_REGISTRY;
    path = rest;
  }
  if (path.toLowerCase() !== path) {
    invalid(s, 'repository name must be lowercase', `try "${s.replace(path, path.toLowerCase())}"`);
  }
  if (!PATH_RE.test(path)) {
    invalid(s, `bad repository name "${path}"`, 'repository path components are lowercase [a-z0-9] separated by ".", "_", "__" or "-", joined by "/"');
  }
  ({ registry, path } = dockerHubName(registry, path));
  if (registry.length + 1 + path.length > MAX_NAME_LENGTH) invalid(s, `name is longer than ${MAX_NAME_LENGTH} characters`);
  const ref: Reference = { registry, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/**
 * A registry and repository path as docker names them: index.docker.io is docker.io, and a one-component Docker Hub
 * path is an official image under library/ ("docker.io/alpine" is docker.io/library/alpine).
 */
export function dockerHubName(registry: string, path: string): { registry: string; path: string } {
  const r = registry === LEGACY_DEFAULT_REGISTRY ? DEFAULT_REGISTRY : registry;
  return { registry: r, path: r === DEFAULT_REGISTRY && !path.includes('/') ? `library/${path}` : path };
}

/** Fully-qualified text form: registry/repository[:tag][@digest]. parseReference(formatReference(r)) round-trips. */
export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** The short form docker prints ("alpine:3", "team/app", "localhost:5000/app@sha256:…"). */
export function familiarReference(r: Reference): string {
  let name = `${r.registry}/${r.repository}`;
  if (r.registry === DEFAULT_REGISTRY) {
    name = r.repository.startsWith('library/') && r.repository.split('/').length === 2 ? r.repository.slice(8) : r.repository;
  }
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** The same repository pinned to `digest` (the tag is kept for display, the digest is what counts). */
export function referenceWithDigest(r: Reference, digest: Digest | string): Reference {
  if (!isDigest(digest)) {
    throw new InputError('INVALID_DIGEST', `invalid digest "${digest}"`, { hint: 'a digest looks like sha256:<64 lowercase hex characters>' });
  }
  return { ...r, digest };
}

/** registry/repository without tag or digest. */
export function repositoryName(r: Reference): string {
  return `${r.registry}/${r.repository}`;
}

/** The tag or digest to ask the registry for (digest wins), or undefined when neither was given. */
export function referenceSelector(r: Reference): string | undefined {
  return r.digest ?? r.tag;
}

/** The host:port that serves the registry API for `registry` (docker.io → registry-1.docker.io). */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY || registry === LEGACY_DEFAULT_REGISTRY ? DOCKER_HUB_API_HOST : registry;
}

/** Key under which ~/.docker/config.json and credential helpers store credentials for `registry`. */
export function credentialKey(registry: string): string {
  return registry === DEFAULT_REGISTRY || registry === LEGACY_DEFAULT_REGISTRY || registry === DOCKER_HUB_API_HOST
    ? DOCKER_HUB_AUTH_KEY
    : registry;
}
