/**
 * Registry failures as typed errors. The code is the registry's own error code when it sent one we know
 * (distribution spec "error codes"), else one derived from the HTTP status; the message carries the registry's
 * own message(s) so users see what the server said.
 */
import { DockerSignError, EXIT, type ErrorOptions } from '../errors.js';

export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'DIGEST_MISMATCH'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'TOO_LARGE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'NETWORK'
  | 'INSECURE'
  | 'CREDENTIALS'
  | 'PROTOCOL'
  | 'UNAVAILABLE';

const KNOWN = new Set<string>([
  'BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'TAG_INVALID',
  'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS',
]);

export interface RegistryErrorOptions extends ErrorOptions {
  status?: number;
  /** The registry's own error entries ({code, message, detail}). */
  registryErrors?: RegistryErrorEntry[];
}

export interface RegistryErrorEntry {
  code?: string;
  message?: string;
  detail?: unknown;
}

export class RegistryError extends DockerSignError {
  readonly status?: number;
  readonly registryErrors: RegistryErrorEntry[];
  constructor(code: RegistryErrorCode, message: string, opts: RegistryErrorOptions = {}) {
    const exitCode = opts.exitCode ?? (code === 'DIGEST_MISMATCH' ? EXIT.VERIFICATION_FAILED : EXIT.UNAVAILABLE);
    super(code, message, {
      ...opts,
      exitCode,
      details: { ...(opts.status !== undefined ? { status: opts.status } : {}), ...(opts.registryErrors?.length ? { registryErrors: opts.registryErrors } : {}), ...(opts.details ?? {}) },
    });
    this.status = opts.status;
    this.registryErrors = opts.registryErrors ?? [];
  }
}

const HINTS: Partial<Record<RegistryErrorCode, string>> = {
  UNAUTHORIZED: 'log in with `docker login <registry>` (credentials are read from ~/.docker/config.json and credential helpers)',
  DENIED: 'the credentials used do not grant access to this repository; check the repository name and your permissions',
  NAME_UNKNOWN: 'check the repository name (and that it was pushed to this registry)',
  MANIFEST_UNKNOWN: 'check the tag or digest; `docker push` it first if it only exists locally',
  BLOB_UNKNOWN: 'the registry does not have this blob; push the image again',
  MANIFEST_BLOB_UNKNOWN: 'the registry lacks a blob this manifest references; push the image again (its blobs go first)',
  TOOMANYREQUESTS: 'the registry rate-limited the request; wait and retry',
  UNSUPPORTED: 'the registry does not support this operation',
  UNAVAILABLE: 'the registry had an internal error or is unavailable; retry later',
  TOO_LARGE: 'the registry or the content exceeds a size limit',
};

/** Parses a distribution-spec error body ({"errors":[{code,message,detail}]}); tolerant of junk. */
export function parseErrorBody(text: string): RegistryErrorEntry[] {
  try {
    const v = JSON.parse(text) as { errors?: unknown };
    if (v && Array.isArray(v.errors)) {
      return v.errors
        .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
        .map((e) => ({
          code: typeof e.code === 'string' ? e.code : undefined,
          message: typeof e.message === 'string' ? e.message : undefined,
          detail: e.detail,
        }));
    }
  } catch {
    /* not JSON */
  }
  return [];
}

function codeForStatus(status: number, notFound: RegistryErrorCode): RegistryErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return notFound;
  if (status === 405) return 'UNSUPPORTED';
  if (status === 409) return 'CONFLICT';
  if (status === 412) return 'PRECONDITION_FAILED';
  if (status === 413) return 'TOO_LARGE';
  if (status === 416) return 'BLOB_UPLOAD_INVALID';
  if (status === 429) return 'TOOMANYREQUESTS';
  if (status >= 500) return 'UNAVAILABLE';
  return 'PROTOCOL';
}

/** Builds the error for an unexpected HTTP response. `what` names the operation ("GET manifest app:1"). */
export function errorFromResponse(status: number, bodyText: string, what: string, notFound: RegistryErrorCode = 'NOT_FOUND'): RegistryError {
  const entries = parseErrorBody(bodyText);
  // a manifest refused for a missing blob is that, even when Distribution lists the storage error (DIGEST_INVALID) first
  const first = entries.find((e) => e.code === 'MANIFEST_BLOB_UNKNOWN') ?? entries.find((e) => e.code && KNOWN.has(e.code));
  let code: RegistryErrorCode = first ? (first.code as RegistryErrorCode) : codeForStatus(status, notFound);
  if (code === 'DIGEST_INVALID') code = 'DIGEST_MISMATCH';
  const said = entries.map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean).join('; ');
  const plain = !said && bodyText && !bodyText.trimStart().startsWith('{') ? bodyText.trim().slice(0, 200) : '';
  const msg = `${what}: HTTP ${status}${said ? ` — registry says: ${said}` : plain ? ` — ${plain}` : ''}`;
  if (status === 407) {
    return new RegistryError('UNAUTHORIZED', `${what}: HTTP 407 — the proxy asks for credentials`, {
      status, hint: 'put them in the proxy URL: HTTPS_PROXY=http://user:password@proxy:port (HTTP_PROXY for http registries)',
    });
  }
  return new RegistryError(code, msg, { status, registryErrors: entries, hint: HINTS[code] });
}

/**
 * A URL the registry sent (Location, Link rel="next"), resolved against the request's URL. Anything that is not
 * an http(s) URL is the registry's protocol error, never a crash or a request elsewhere.
 */
export function registryUrl(value: string, base: URL | string, what: string): URL {
  let u: URL;
  try {
    u = new URL(value, base);
  } catch {
    throw new RegistryError('PROTOCOL', `${what}: the registry sent ${JSON.stringify(value.slice(0, 200))}, which is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new RegistryError('PROTOCOL', `${what}: the registry sent a ${u.protocol} URL (${JSON.stringify(value.slice(0, 200))}); only http(s) is followed`);
  }
  return u;
}
