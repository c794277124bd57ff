/**
 * HTTP layer for one registry host: connection pool (node:http keep-alive agents, see http.ts), scheme choice (https unless
 * loopback or listed insecure), authentication (anonymous → basic or bearer after a 401 challenge, token reuse
 * per scope), redirects (Authorization is never forwarded to another origin), and mapping of transport
 * failures to RegistryError NETWORK.
 */
import { request, closePools, type Response, type ResponseBody } from './http.js';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryApiHost } from '../oci/reference.js';
import { RegistryError, errorFromResponse, registryUrl, type RegistryErrorCode } from './errors.js';
import { parseChallenges, TokenCache, type Challenge } from './auth.js';
import { resolveCredentials, type Credentials } from './credentials.js';
import { certsDirs, registryTls } from './certsd.js';
import { DockerSignError } from '../errors.js';

export interface RegistryOptions {
  /** Registries (host or host:port) allowed over plain HTTP besides loopback; env DOCKER_SIGN_INSECURE_REGISTRIES adds more. */
  insecure?: string[];
  /** Explicit credentials; `null` = anonymous without reading the docker config; undefined = docker config lookup. */
  credentials?: Credentials | { username: string; password: string } | null;
  /** Docker config dir for credentials (default $DOCKER_CONFIG or ~/.docker). */
  dockerConfigDir?: string;
  userAgent?: string;
  /** Max parallel connections per registry host and parallel blob operations (default 8). */
  maxConcurrency?: number;
  /** Header and idle-body timeout for each request in ms (default 120000). */
  timeoutMs?: number;
}

export const INSECURE_ENV = 'DOCKER_SIGN_INSECURE_REGISTRIES';
const DEFAULT_UA = 'docker-sign/0.1';
const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;
const TRANSIENT = [500, 502, 503, 504];
const MAX_TRANSIENT_RETRIES = 3;

export type Body = Buffer | Readable | string | null;

export interface HttpRequest {
  method: string;
  /** Path under the registry origin ("/v2/…") or an absolute URL (upload locations, redirects). */
  url: string;
  headers?: Record<string, string>;
  /** Re-creatable body (called again when a request is retried after an auth challenge). */
  body?: () => Body | Promise<Body>;
  /** Token scopes this request needs, e.g. ["repository:app:pull"]. */
  scopes: string[];
  /** For messages: "GET manifest 127.0.0.1:5000/app:1". */
  what: string;
  /** Follow 301/302/303/307/308 (default: for GET and HEAD, as docker and notation do; never for writes). */
  followRedirects?: boolean;
  /** Cancels the request (token requests and retries included) when it aborts. */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  url: URL;
}

/** Closes the shared connection pools (tests / short-lived CLIs that want a clean exit). */
export async function closeConnections(): Promise<void> {
  closePools();
}

function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i >= 0 && !hostPort.slice(0, i).includes(':') ? hostPort.slice(0, i) : hostPort;
}

export function isLoopback(hostPort: string): boolean {
  const h = hostnameOf(hostPort).toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '0:0:0:0:0:0:0:1';
}

export function insecureList(opts: RegistryOptions, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env[INSECURE_ENV] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return [...(opts.insecure ?? []), ...fromEnv].map((s) => s.replace(/^https?:\/\//, '').replace(/\/+$/, '').toLowerCase());
}

/** Plain HTTP is used only for loopback hosts and registries listed as insecure (by host:port or host). */
export function allowsPlainHttp(hostPort: string, insecure: readonly string[]): boolean {
  if (isLoopback(hostPort)) return true;
  const hp = hostPort.toLowerCase();
  return insecure.includes(hp) || insecure.includes(hostnameOf(hp));
}

/**
 * Reads a whole response body of at most `max` bytes. The transport's timeout is an idle timeout (every byte
 * restarts it), so the read also has a deadline of its own: a minute plus a millisecond per 64 bytes of `max`
 * (a 4 MiB manifest: ~2 min at worst, i.e. at least ~35 kB/s), so a registry dripping a body cannot hold a run.
 */
export async function readBounded(body: AsyncIterable<Buffer | Uint8Array>, max: number, what: string,
  deadlineMs = 60_000 + Math.ceil(max / 64)): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    discard(body);
  }, deadlineMs);
  try {
    for await (const c of body) {
      n += c.length;
      if (n > max) {
        discard(body);
        throw new RegistryError('TOO_LARGE', `${what}: response is larger than ${max} bytes`, { hint: 'refusing to buffer oversize content' });
      }
      chunks.push(Buffer.from(c));
    }
  } catch (e) {
    if (!late) throw e;
  } finally {
    clearTimeout(timer);
  }
  // cut off at the deadline: the body ends early, with an error or without one
  if (late) throw new RegistryError('NETWORK', `${what}: the response did not complete within ${Math.round(deadlineMs / 1000)} s`);
  return Buffer.concat(chunks, n);
}

/** Drops a response body we do not want (no unhandled 'error' from the abort). */
export function discard(body: unknown): void {
  const b = body as { on?: (ev: string, fn: () => void) => void; destroy?: () => void; destroyed?: boolean };
  if (b.destroyed) return;
  b.on?.('error', () => undefined);
  b.destroy?.();
}

export function header(h: HttpResponse['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export class RegistryClient {
  readonly registry: string;
  readonly apiHost: string;
  readonly origin: string;
  readonly maxConcurrency: number;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly tokens = new TokenCache();
  private readonly tokenRequests = new Map<string, Promise<string>>();
  private credsPromise?: Promise<Credentials | undefined>;
  /** What the registry asked for last time (so later requests authenticate up front). */
  private scheme: 'none' | 'basic' | 'bearer' = 'none';
  private bearer?: Challenge;

  constructor(registry: string, private readonly opts: RegistryOptions = {}) {
    this.registry = registry;
    this.apiHost = registryApiHost(registry);
    // a registry with a certs.d folder speaks TLS, even on loopback (as with docker)
    const plain = (allowsPlainHttp(this.apiHost, insecureList(opts)) || allowsPlainHttp(registry, insecureList(opts))) && !registryTls(this.apiHost);
    this.origin = `${plain ? 'http' : 'https'}://${this.apiHost}`;
    this.maxConcurrency = Math.max(1, opts.maxConcurrency ?? 8);
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.userAgent = opts.userAgent ?? DEFAULT_UA;
  }

  private credentials(): Promise<Credentials | undefined> {
    if (!this.credsPromise) {
      const c = this.opts.credentials;
      if (c === null) this.credsPromise = Promise.resolve(undefined);
      else if (c !== undefined) this.credsPromise = Promise.resolve(c);
      else this.credsPromise = resolveCredentials(this.registry, this.opts.dockerConfigDir);
    }
    return this.credsPromise;
  }

  private basicHeader(c: Credentials): string {
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  }

  /** Authorization header for a request needing `scopes`, from what we learned so far. */
  private async authorization(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    if (this.scheme === 'basic') {
      const c = await this.credentials();
      return c ? this.basicHeader(c) : undefined;
    }
    if (this.scheme === 'bearer' && this.bearer) {
      return `Bearer ${await this.token(this.bearer, scopes, signal)}`;
    }
    return undefined;
  }

  /**
   * A token for `scopes`: cached until shortly before it expires, and one request for requests that need the same
   * token at the same time (the first requests of a command go out together and are all challenged).
   */
  private token(ch: Challenge, scopes: string[], signal?: AbortSignal): Promise<string> {
    const cached = this.tokens.get(scopes);
    if (cached) return Promise.resolve(cached);
    const key = `${ch.params.realm ?? ''}\0${ch.params.service ?? ''}\0${[...scopes].sort().join(' ')}`;
    let p = this.tokenRequests.get(key);
    if (!p) {
      p = this.fetchToken(ch, scopes, signal).finally(() => this.tokenRequests.delete(key));
      this.tokenRequests.set(key, p);
    }
    return p;
  }

  private async fetchToken(ch: Challenge, scopes: string[], signal?: AbortSignal): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError('PROTOCOL', `${this.registry}: bearer challenge without realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError('PROTOCOL', `${this.registry}: bearer realm "${realm}" is not a URL`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowsPlainHttp(url.host, insecureList(this.opts)))) {
      throw new RegistryError('INSECURE', `${this.registry}: token endpoint ${realm} is not https`, {
        hint: `add ${url.host} to ${INSECURE_ENV} only if you trust the network`,
      });
    }
    const creds = await this.credentials();
    const what = `token request to ${url.origin}${url.pathname}`;
    let res: Response;
    try {
      if (creds?.identityToken) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'docker-sign' });
        if (ch.params.service) form.set('service', ch.params.service);
        if (scopes.length) form.set('scope', scopes.join(' '));
        res = await request(url, {
          method: 'POST', connections: this.maxConcurrency, timeoutMs: this.timeoutMs, signal,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': this.userAgent }, body: form.toString(),
        });
      } else {
        if (ch.params.service) url.searchParams.set('service', ch.params.service);
        for (const s of scopes) url.searchParams.append('scope', s);
        const headers: Record<string, string> = { 'user-agent': this.userAgent };
        if (creds && (creds.username || creds.password)) headers.authorization = this.basicHeader(creds);
        res = await request(url, { method: 'GET', headers, connections: this.maxConcurrency, timeoutMs: this.timeoutMs, signal });
      }
    } catch (e) {
      throw this.networkError(e, what);
    }
    const text = (await readBounded(res.body, 1024 * 1024, what)).toString('utf8');
    if (res.statusCode !== 200) {
      const err = errorFromResponse(res.statusCode, text, what);
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new RegistryError(res.statusCode === 401 ? 'UNAUTHORIZED' : 'DENIED', err.message, {
          status: res.statusCode, registryErrors: err.registryErrors,
          hint: creds ? 'the credentials were rejected by the token service; run `docker login` again' : `log in with \`docker login ${this.registry}\``,
        });
      }
      throw err;
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new RegistryError('PROTOCOL', `${what}: response is not JSON`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RegistryError('PROTOCOL', `${what}: response is not a JSON object`);
    const tok = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!tok) throw new RegistryError('PROTOCOL', `${what}: response has no token`);
    const exp = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    this.tokens.set(scopes, tok, exp);
    return tok;
  }

  /** Reacts to a 401: returns the Authorization header to retry with, or undefined if we have nothing better. */
  private async answerChallenge(challenges: Challenge[], scopes: string[], sent: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      // The token asks for the operation's scopes only, never for scopes the challenge names: a registry must not
      // get the user's credentials used for more than the operation needs.
      if (sent?.startsWith('Bearer ')) this.tokens.clear(scopes);
      this.scheme = 'bearer';
      this.bearer = bearer;
      const tok = `Bearer ${await this.token(bearer, scopes, signal)}`;
      return tok === sent ? undefined : tok;
    }
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (basic) {
      const c = await this.credentials();
      if (!c || sent?.startsWith('Basic ')) return undefined;
      this.scheme = 'basic';
      return this.basicHeader(c);
    }
    return undefined;
  }

  networkError(e: unknown, what: string): DockerSignError {
    if (e instanceof DockerSignError) return e; // ours already (e.g. an unreadable certs.d file)
    const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
    const code = err.code ?? err.cause?.code ?? '';
    const msg = err.message || String(e);
    const tlsToPlain = /wrong version number|EPROTO|packet length too long/i.test(`${msg} ${code} ${err.cause?.message ?? ''}`);
    const untrusted = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_UNTRUSTED)$/.test(code);
    return new RegistryError('NETWORK', `${what}: ${msg}${code && !msg.includes(code) ? ` (${code})` : ''}`, {
      cause: e,
      hint: tlsToPlain
        ? `the registry seems to speak plain HTTP; if you trust the network, list it in ${INSECURE_ENV}`
        : untrusted
          ? `the registry's TLS certificate is not trusted: put its CA certificate in ${certsDirs()[certsDirs().length - 1]}/${this.apiHost}/ca.crt, as for docker (or DOCKER_SIGN_CERTS_D/${this.apiHost}/ca.crt)`
          : `is the registry ${this.registry} reachable (${this.origin})?`,
    });
  }

  /** Sends a request, authenticating on demand; follows redirects when asked. Non-2xx responses are returned. */
  async send(r: HttpRequest): Promise<HttpResponse> {
    let url = r.url.startsWith('/') ? new URL(this.origin + r.url) : new URL(r.url);
    if (url.protocol === 'http:' && !allowsPlainHttp(url.host, insecureList(this.opts)) && url.origin !== this.origin) {
      throw new RegistryError('INSECURE', `${r.what}: refusing plain HTTP to ${url.host}`, { hint: `list it in ${INSECURE_ENV} only if you trust the network` });
    }
    let auth = url.origin === this.origin ? await this.authorization(r.scopes, r.signal) : undefined;
    let retried = false;
    let transient = 0;
    for (let hops = 0; ; ) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...(r.headers ?? {}) };
      if (auth) headers.authorization = auth;
      let res: Response;
      try {
        res = await request(url, {
          method: r.method,
          headers,
          body: r.body ? await r.body() : undefined,
          connections: this.maxConcurrency,
          timeoutMs: this.timeoutMs,
          ...(r.signal ? { signal: r.signal } : {}),
        });
      } catch (e) {
        throw this.networkError(e, r.what);
      }
      const status = res.statusCode;
      // Idempotent reads are retried on transient server errors (e.g. Distribution answers 500 while a manifest a
      // tag pointed to a moment ago is being deleted by another client).
      if ((r.method === 'GET' || r.method === 'HEAD') && TRANSIENT.includes(status) && transient < MAX_TRANSIENT_RETRIES) {
        transient++;
        await res.body.dump().catch(() => undefined);
        await sleep(100 * transient + Math.floor(Math.random() * 100));
        if (r.signal?.aborted) throw this.networkError(r.signal.reason ?? new Error('aborted'), r.what);
        continue;
      }
      if (status === 401 && retried && url.origin === this.origin) {
        const text = (await readBounded(res.body, MAX_ERROR_BODY, r.what).catch(() => Buffer.alloc(0))).toString('utf8');
        const insufficient = parseChallenges(res.headers['www-authenticate']).some((c) => c.params.error === 'insufficient_scope');
        const creds = await this.credentials();
        if (insufficient && creds) {
          const base = errorFromResponse(401, text, r.what);
          throw new RegistryError('DENIED', base.message, {
            status: 401, registryErrors: base.registryErrors,
            hint: `the credentials for ${this.registry} do not grant ${r.scopes.join(' ')}; check the repository name and your permissions`,
          });
        }
        throw this.unauthorized(text, r.what, creds !== undefined);
      }
      if (status === 401 && !retried && url.origin === this.origin) {
        retried = true;
        const text = (await readBounded(res.body, MAX_ERROR_BODY, r.what).catch(() => Buffer.alloc(0))).toString('utf8');
        const next = await this.answerChallenge(parseChallenges(res.headers['www-authenticate']), r.scopes, auth, r.signal);
        if (next === undefined) throw this.unauthorized(text, r.what, auth !== undefined);
        auth = next;
        continue;
      }
      if ((r.followRedirects ?? (r.method === 'GET' || r.method === 'HEAD')) && [301, 302, 303, 307, 308].includes(status)) {
        const loc = header(res.headers, 'location');
        await res.body.dump().catch(() => undefined);
        if (!loc) throw new RegistryError('PROTOCOL', `${r.what}: redirect without Location`, { status });
        if (++hops > MAX_REDIRECTS) throw new RegistryError('PROTOCOL', `${r.what}: too many redirects`, { status });
        const next = registryUrl(loc, url, r.what);
        if (next.protocol === 'http:' && url.protocol === 'https:' && !allowsPlainHttp(next.host, insecureList(this.opts))) {
          throw new RegistryError('INSECURE', `${r.what}: refusing redirect from https to ${next.origin}`);
        }
        // credentials stay with the registry origin; storage back-ends get pre-signed URLs
        if (next.origin !== this.origin) auth = undefined;
        url = next;
        continue;
      }
      return { status, headers: res.headers, body: res.body, url };
    }
  }

  private unauthorized(text: string, what: string, sentCredentials: boolean): RegistryError {
    const base = errorFromResponse(401, text, what, 'UNAUTHORIZED');
    return new RegistryError('UNAUTHORIZED', base.message, {
      status: 401,
      registryErrors: base.registryErrors,
      hint: sentCredentials
        ? `the registry rejected the credentials; run \`docker login ${this.registry}\` again`
        : `no credentials found for ${this.registry}; run \`docker login ${this.registry}\``,
    });
  }

  /** Reads an error response body and throws the typed error. */
  async fail(res: HttpResponse, what: string, notFound: RegistryErrorCode = 'NOT_FOUND'): Promise<never> {
    const text = (await readBounded(res.body, MAX_ERROR_BODY, what).catch(() => Buffer.alloc(0))).toString('utf8');
    throw errorFromResponse(res.status, text, what, notFound);
  }
}
