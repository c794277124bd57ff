/**
 * The registry client's transport: node:http / node:https with keep-alive agents (a pool of at most
 * `connections` sockets per host). Built on node's own modules because they are already loaded with the
 * runtime: the CLI pays nothing to import them, where an HTTP library costs tens of milliseconds on every run.
 *
 * `request()` resolves when the response headers arrive; the body is the response stream (async iterable) with a
 * `dump()` that drains it so the socket goes back to the pool.
 */
import http from 'node:http';
import type * as Https from 'node:https';
import { Readable } from 'node:stream';
import { DockerSignError } from '../errors.js';
import { registryTls } from './certsd.js';
import { tlsContextOptions } from './tls-roots.js';
import { closeProxyAgents, describeProxy, proxyAgent, proxyFor } from './proxy.js';

export type RequestBody = Buffer | Readable | string | null | undefined;

export interface RequestOptions {
  method: string;
  headers: Record<string, string>;
  body?: RequestBody;
  /** ms to wait for the response headers, and the longest pause allowed while the body streams */
  timeoutMs: number;
  connections: number;
  /** Cancels the request (and its response body) when it aborts. */
  signal?: AbortSignal;
}

export type ResponseBody = http.IncomingMessage & { dump(): Promise<void> };

export interface Response {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: ResponseBody;
}

const pools = new Map<string, http.Agent>();
/** A body nobody reads (errors, redirects, PUT answers) is drained for its socket's reuse up to this much, this long. */
const DRAIN_MAX_BYTES = 64 * 1024;
const DRAIN_MS = 10_000;

/** node:https (and tls) load only for https registries: a loopback/plain-HTTP run of the CLI does not pay for them. */
function https(): typeof Https {
  return process.getBuiltinModule('node:https') as typeof Https;
}

function agentFor(protocol: string, connections: number): http.Agent {
  const key = `${protocol}${connections}`;
  let a = pools.get(key);
  if (!a) {
    const opts = { keepAlive: true, maxSockets: connections, maxFreeSockets: connections, scheduling: 'lifo' as const, timeout: 30_000 };
    a = protocol === 'https:' ? new (https().Agent)(opts) : new http.Agent(opts);
    pools.set(key, a);
  }
  return a;
}

/** Closes every pooled connection (tests, or a CLI that wants to exit without waiting for idle sockets). */
export function closePools(): void {
  for (const a of pools.values()) a.destroy();
  pools.clear();
  closeProxyAgents();
}

export class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * One request; directly, or through the proxy the environment names for this URL (src/registry/proxy.ts). Failures
 * to reach the registry through a proxy say so in their message.
 */
export async function request(url: URL, o: RequestOptions): Promise<Response> {
  const proxy = proxyFor(url);
  if (!proxy) return send(url, o, agentFor(url.protocol, o.connections));
  const agent = await proxyAgent(url, proxy, { keepAlive: true, maxSockets: o.connections });
  try {
    return await send(url, o, agent);
  } catch (e) {
    if (e instanceof DockerSignError) throw e;
    const err = e as Error & { code?: string };
    throw Object.assign(new Error(`${err.message} (through the proxy ${describeProxy(proxy)})`, { cause: e }), err.code ? { code: err.code } : {});
  }
}

function send(url: URL, o: RequestOptions, agent: http.Agent): Promise<Response> {
  const mod = url.protocol === 'https:' ? https() : http;
  return new Promise<Response>((resolve, reject) => {
    const headers: Record<string, string | number> = { ...o.headers };
    const body = o.body ?? undefined;
    if (typeof body === 'string' || Buffer.isBuffer(body)) headers['content-length'] = Buffer.byteLength(body);
    else if (body === undefined && (o.method === 'POST' || o.method === 'PUT' || o.method === 'PATCH')) headers['content-length'] = 0;
    // the registry's certs.d folder (CA certificates, client certificate), as the Docker engine uses it, in one
    // secure context per folder made once (tls-roots.ts); pooled sockets are keyed by host:port, and a host's
    // folder is read once per process, so a socket never serves a request meant for other TLS material
    const tls = url.protocol === 'https:' ? registryTls(url.host) : undefined;
    const req = mod.request(url, {
      method: o.method, headers, agent, ...(o.signal ? { signal: o.signal } : {}),
      ...(url.protocol === 'https:' ? tlsContextOptions(tls ? `certs.d:${tls.dir}` : 'default', { extraCa: tls?.ca, cert: tls?.cert, key: tls?.key }) : {}),
    });
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
    };
    req.setTimeout(o.timeoutMs, () => req.destroy(new TimeoutError(`no answer within ${o.timeoutMs} ms`)));
    // setTimeout above is an idle timeout, restarted by every byte: the response headers also have a deadline
    // (from when the request is complete), or a server dripping them a byte at a time would hold us forever
    let headerDeadline: NodeJS.Timeout | undefined;
    req.on('finish', () => {
      headerDeadline = setTimeout(() => req.destroy(new TimeoutError(`no complete answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    });
    req.on('close', () => clearTimeout(headerDeadline));
    req.on('error', fail);
    req.on('response', (res) => {
      clearTimeout(headerDeadline);
      settled = true;
      // while the body streams, an idle socket longer than the timeout aborts it
      res.setTimeout?.(o.timeoutMs, () => res.destroy(new TimeoutError(`body stalled for ${o.timeoutMs} ms`)));
      const b = res as ResponseBody;
      b.dump = () =>
        new Promise<void>((done) => {
          // `complete` only says the bytes arrived: they must still be read for the socket to be released
          if (res.readableEnded || res.destroyed) return done();
          // drained for the socket's reuse only while it is small and quick: a big, endless or dripping body
          // costs the connection instead (destroyed), never unbounded time
          const stop = setTimeout(() => res.destroy(), Math.min(o.timeoutMs, DRAIN_MS));
          const finish = () => {
            clearTimeout(stop);
            done();
          };
          res.on('end', finish).on('error', finish).on('close', finish);
          let drained = 0;
          res.on('data', (c: Buffer) => {
            drained += c.length;
            if (drained > DRAIN_MAX_BYTES) res.destroy();
          });
          res.resume();
        });
      // A response without a body (HEAD, 204, 304, Content-Length 0) is drained at once so its socket returns
      // to the pool even if the caller never reads it.
      const len = res.headers['content-length'];
      if (o.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 || len === '0') res.resume();
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: b });
    });
    if (body instanceof Readable) {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    } else {
      req.end(body);
    }
  });
}
