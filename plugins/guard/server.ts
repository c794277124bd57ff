import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { chmodSync, unlinkSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { classify } from './classify.js';
import { decide, decideCreateResponse, quickDecision, newCaches, type AuthZRequest, type AuthZResponse, type Decision, type DecideOptions, type GuardCaches, type GuardDeps } from './decide.js';
import type { AuditLog } from './audit.js';
import { mkdirsSync } from '../../src/config/mkdir.js';

/**
 * The Docker Engine authorization plug-in endpoint: an HTTP server on a unix socket.
 *   POST /Plugin.Activate          -> {"Implements":["authz"]}
 *   POST /AuthZPlugin.AuthZReq     -> {"Allow":true} | {"Allow":false,"Msg":"…"}   (the only place we decide)
 *   POST /AuthZPlugin.AuthZRes     -> {"Allow":true}, except a containers/create whose container's image does not
 *                                     verify (the name moved after AuthZReq): that container is removed and denied
 * Extra endpoints for our own tooling (dockerd never calls them):
 *   POST /DockerSign.Invalidate    -> drops every cached verdict (revocation hook), {"Invalidated":n}
 *   GET  /DockerSign.Status        -> counters, cache size, policy hash
 */
export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';
const MAX_REQ_BYTES = 8 * 1024 * 1024;

export interface GuardServerOptions {
  socket: string;
  deps: GuardDeps;
  options: DecideOptions;
  audit?: AuditLog;
  caches?: GuardCaches;
  log?: (msg: string) => void;
  /** Called after the caches were dropped (e.g. to mark the policy dirty). */
  onInvalidate?: () => void;
  policyHashPeek?: () => string;
}

export interface GuardStats {
  requests: number;
  gated: number;
  allowed: number;
  denied: number;
  cacheHits: number;
  startedAt: string;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': PLUGIN_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class GuardServer {
  readonly caches: GuardCaches;
  readonly stats: GuardStats = { requests: 0, gated: 0, allowed: 0, denied: 0, cacheHits: 0, startedAt: new Date().toISOString() };
  private server: Server | undefined;

  constructor(private readonly o: GuardServerOptions) {
    this.caches = o.caches ?? newCaches();
  }

  get socket(): string {
    return this.o.socket;
  }

  /** Drops every cached verdict. */
  invalidate(): number {
    const n = this.caches.verify.invalidate() + this.caches.image.invalidate();
    this.o.onInvalidate?.();
    return n;
  }

  async start(): Promise<void> {
    const sock = this.o.socket;
    mkdirsSync(dirname(sock));
    await removeStaleSocket(sock);
    const server = createServer({ keepAlive: true }, (req, res) => {
      this.handle(req, res).catch((e) => {
        this.o.log?.(`guard: internal error: ${(e as Error).message}`);
        // Fail closed but keep answering in the plug-in protocol: a 200 deny, never a hang.
        if (!res.headersSent) reply(res, 200, { Allow: false, Msg: 'docker-sign: guard internal error (fail closed)' });
      });
    });
    server.keepAliveTimeout = 60_000;
    server.headersTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(sock, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      chmodSync(sock, 0o660);
    } catch {
      // best effort
    }
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    try {
      unlinkSync(this.o.socket);
    } catch {
      // already gone
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const t0 = performance.now();
    switch (url) {
      case '/Plugin.Activate':
        req.resume();
        reply(res, 200, { Implements: ['authz'] });
        return;
      case '/AuthZPlugin.AuthZRes': {
        // Only a containers/create response is looked at (its body is small); others can be large buffered API
        // responses and are answered without parsing.
        const body = await readBody(req, MAX_REQ_BYTES);
        if (body === null || !body.includes('create')) {
          reply(res, 200, { Allow: true });
          return;
        }
        const ar = parseAuthz<AuthZResponse>(body);
        if (!ar) {
          reply(res, 200, { Allow: false, Msg: 'docker-sign: malformed authorization response (fail closed)' });
          return;
        }
        const d = await decideCreateResponse(ar, this.o.deps, this.o.options, this.caches);
        if (!d) {
          reply(res, 200, { Allow: true });
          return;
        }
        reply(res, 200, d.allow ? { Allow: true } : { Allow: false, Msg: d.msg ?? 'docker-sign: denied' });
        if (!d.allow) {
          this.stats.denied++;
          this.record(ar, { ...d, reason: `at response: ${d.reason}` }, t0, ' (response)');
        }
        return;
      }
      case '/AuthZPlugin.AuthZReq':
        break;
      case '/DockerSign.Invalidate': {
        req.resume();
        reply(res, 200, { Invalidated: this.invalidate() });
        return;
      }
      case '/DockerSign.Status':
        req.resume();
        reply(res, 200, { ...this.stats, cacheEntries: this.caches.verify.size + this.caches.image.size, policyHash: this.o.policyHashPeek?.() ?? '' });
        return;
      default:
        req.resume();
        reply(res, 404, { Err: `unknown endpoint ${url}` });
        return;
    }
    this.stats.requests++;
    const buf = await readBody(req, MAX_REQ_BYTES);
    const ar = buf === null ? undefined : parseAuthz<AuthZRequest>(buf);
    if (!ar) {
      this.stats.denied++;
      reply(res, 200, { Allow: false, Msg: 'docker-sign: malformed authorization request (fail closed)' });
      return;
    }
    const c = classify(ar.RequestMethod, ar.RequestUri);
    // Ungated requests (the vast majority, incl. _ping): answered synchronously, nothing awaited.
    if (c.kind === 'other') {
      this.stats.allowed++;
      reply(res, 200, { Allow: true });
      return;
    }
    this.stats.gated++;
    const quick = quickDecision(c, this.o.options);
    const d: Decision = quick ?? (await decide(ar, this.o.deps, this.o.options, this.caches));
    if (d.allow) this.stats.allowed++;
    else this.stats.denied++;
    if (d.cached) this.stats.cacheHits++;
    reply(res, 200, d.allow ? { Allow: true } : { Allow: false, Msg: d.msg ?? 'docker-sign: denied' });
    this.record(ar, d, t0);
  }

  /** One audit line for a gated decision, and the log line of a deny. */
  private record(ar: AuthZRequest, d: Decision, t0: number, when = ''): void {
    this.o.audit?.write({
      time: new Date().toISOString(),
      method: ar.RequestMethod ?? '',
      uri: ar.RequestUri ?? '',
      kind: d.kind,
      image: d.image,
      digest: d.digest,
      allow: d.allow,
      reason: d.reason,
      policy: d.policy,
      durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
      cached: d.cached ?? false,
      ...(ar.User ? { user: ar.User } : {}),
    });
    if (!d.allow) this.o.log?.(`guard: DENY${when} ${ar.RequestMethod} ${ar.RequestUri}: ${d.msg}`);
  }
}

/** The JSON object dockerd sent (AuthZReq / AuthZRes), or undefined when it is not one. */
function parseAuthz<T extends object>(body: Buffer): T | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes a leftover socket file unless something is listening on it. */
async function removeStaleSocket(sock: string): Promise<void> {
  let st;
  try {
    st = lstatSync(sock);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${sock} exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(sock);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another process is already serving ${sock}`);
  unlinkSync(sock);
}
