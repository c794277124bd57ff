import { posix } from 'node:path';

/**
 * Classifies what dockerd is about to do from an AuthZReq (method + RequestUri), without awaiting anything.
 *
 * dockerd forwards the URI as the client sent it: versioned (`/v1.41/…`, `/v1.50/…`) or not (`/containers/create`).
 * Only the endpoints that bring an image onto the machine or start one are gated; everything else is "other"
 * and is answered Allow at once (dockerd calls the plug-in twice for every API request, `_ping` included).
 */
export type RequestKind =
  | 'pull' // POST /images/create?fromImage=…
  | 'import' // POST /images/create?fromSrc=…
  | 'create' // POST /containers/create
  | 'start' // POST /containers/<id>/start, /containers/<id>/restart (restart also starts a created or stopped one)
  | 'rename' // POST /containers/<id>/rename: moves a name another request may be about to start
  | 'build' // POST /build; BuildKit's POST /grpc and /session (docker buildx's docker driver)
  | 'load' // POST /images/load
  | 'commit' // POST /commit
  | 'push' // POST /images/<name>/push
  | 'plugin' // POST /plugins/pull, /plugins/create, /plugins/<name>/upgrade, /plugins/<name>/enable: plug-in code runs as root
  | 'service' // POST /services/create, /services/<id>/update: swarm pulls and runs the image itself, unseen by the guard
  | 'other';

export interface Classified {
  kind: RequestKind;
  /** Decoded query parameters (first value of each). */
  query: Record<string, string>;
  /** Container id for `start`, image name for `push`. */
  target?: string;
}

const VERSION = '(?:/v[0-9][0-9.]*)?';
const RE_IMAGES_CREATE = new RegExp(`^${VERSION}/images/create/?$`);
const RE_CONTAINERS_CREATE = new RegExp(`^${VERSION}/containers/create/?$`);
const RE_CONTAINER_START = new RegExp(`^${VERSION}/containers/([^/]+)/(?:start|restart)/?$`);
const RE_CONTAINER_RENAME = new RegExp(`^${VERSION}/containers/([^/]+)/rename/?$`);
const RE_BUILD = new RegExp(`^${VERSION}/(?:build|grpc|session)/?$`);
const RE_PLUGIN = new RegExp(`^${VERSION}/plugins/(?:pull|create|[^/]+/upgrade|[^/]+/enable)/?$`);
const RE_SERVICE = new RegExp(`^${VERSION}/services/(?:create|[^/]+/update)/?$`);
const RE_LOAD = new RegExp(`^${VERSION}/images/load/?$`);
const RE_COMMIT = new RegExp(`^${VERSION}/commit/?$`);
const RE_PUSH = new RegExp(`^${VERSION}/images/(.+)/push/?$`);

function parseQuery(q: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (q.length === 0) return out;
  for (const part of q.split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    const rawK = eq < 0 ? part : part.slice(0, eq);
    const rawV = eq < 0 ? '' : part.slice(eq + 1);
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent(rawK.replace(/\+/g, ' '));
      v = decodeURIComponent(rawV.replace(/\+/g, ' '));
    } catch {
      // A malformed escape: keep the raw text; the decision code treats an unusable value as a deny.
      k = rawK;
      v = rawV;
    }
    if (!(k in out)) out[k] = v;
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Classifies one request. Pure and synchronous. Method comparison is case-insensitive (Go sends upper case). */
export function classify(method: string | undefined, requestUri: string | undefined): Classified {
  const uri = typeof requestUri === 'string' ? requestUri : '';
  const qi = uri.indexOf('?');
  // dockerd's router matches the *decoded* path (url.URL.Path), so `/containers%2Fcreate` is `/containers/create`:
  // decode first, then collapse repeated slashes and dot segments (what a path cleaner would do).
  const path = posix.normalize(safeDecode(qi < 0 ? uri : uri.slice(0, qi)));
  const query = parseQuery(qi < 0 ? '' : uri.slice(qi + 1));
  if ((method ?? '').toUpperCase() !== 'POST') return { kind: 'other', query };
  if (RE_IMAGES_CREATE.test(path)) {
    // dockerd pulls when fromImage is non-empty, else imports from fromSrc
    if ((query.fromImage ?? '') === '' && query.fromSrc !== undefined) return { kind: 'import', query };
    return { kind: 'pull', query };
  }
  if (RE_CONTAINERS_CREATE.test(path)) return { kind: 'create', query };
  let m = RE_CONTAINER_START.exec(path);
  if (m) return { kind: 'start', query, target: safeDecode(m[1]) };
  m = RE_CONTAINER_RENAME.exec(path);
  if (m) return { kind: 'rename', query, target: safeDecode(m[1]) };
  if (RE_BUILD.test(path)) return { kind: 'build', query };
  if (RE_LOAD.test(path)) return { kind: 'load', query };
  if (RE_COMMIT.test(path)) return { kind: 'commit', query };
  if (RE_PLUGIN.test(path)) return { kind: 'plugin', query };
  if (RE_SERVICE.test(path)) return { kind: 'service', query };
  m = RE_PUSH.exec(path);
  if (m) return { kind: 'push', query, target: safeDecode(m[1]) };
  return { kind: 'other', query };
}
