/**
 * The one network call revocation checking makes: fetch a URL (GET, or POST with a body) with a time limit, a size
 * cap and an AbortSignal, following at most 3 redirects and only to http(s). Errors are thrown with a message fit
 * for a verification report ("timed out after 2000 ms", "HTTP 404", "response larger than 1048576 bytes", …).
 * `httpExchange` (one request, any status, no redirect followed) also serves the timestamp authority request
 * (src/signature/tsa.ts).
 * node:http / node:https are imported on first use: a chain without revocation pointers never loads them.
 */
import type { IncomingMessage } from 'node:http';
import { describeProxy, proxyAgent, proxyFor } from '../registry/proxy.js';
import { tlsContextOptions } from '../registry/tls-roots.js';

export interface RevocationFetchRequest {
  url: string;
  method: 'GET' | 'POST';
  body?: Buffer;
  contentType?: string;
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Returns the body of a 2xx answer, or throws. Replaceable through NetworkRevocationOptions.fetch (tests). */
export type RevocationFetch = (req: RevocationFetchRequest) => Promise<Buffer>;

const MAX_REDIRECTS = 3;

export class FetchError extends Error {}

export const httpFetch: RevocationFetch = async (req) => {
  const deadline = Date.now() + req.timeoutMs;
  let url = new URL(req.url);
  let method = req.method;
  let body = req.body;
  for (let hop = 0; ; hop++) {
    const res = await httpExchange(url, method, body, req, deadline);
    if (res.status >= 300 && res.status < 400 && res.location) {
      if (hop >= MAX_REDIRECTS) throw new FetchError(`more than ${MAX_REDIRECTS} redirects`);
      url = new URL(res.location, url);
      if (res.status !== 307 && res.status !== 308) {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    if (!res.body) throw new FetchError(`HTTP ${res.status}`);
    return res.body;
  }
};

/** One answer: status line, Content-Type and Location; the body only of a 2xx answer (within maxBytes). */
export interface HttpAnswer {
  status: number;
  statusText: string;
  contentType?: string;
  location?: string;
  body?: Buffer;
}

/**
 * One request to an http(s) URL, through the proxy the environment names for it, within `deadline` (ms since the
 * epoch) and `req.signal`; no redirect is followed. Rejects with a FetchError on transport failures, time-outs and
 * a 2xx body over `req.maxBytes`.
 */
export function httpExchange(url: URL, method: string, body: Buffer | undefined, req: Omit<RevocationFetchRequest, 'url' | 'method' | 'body'>, deadline: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject(new FetchError(`unsupported URL scheme "${url.protocol}"`));
    const left = deadline - Date.now();
    if (left <= 0) return reject(new FetchError(`timed out after ${req.timeoutMs} ms`));
    if (req.signal?.aborted) return reject(new FetchError(`aborted (${abortReason(req.signal)})`));
    // through the proxy the environment names for this URL, as for registries (src/registry/proxy.ts)
    const proxy = proxyFor(url);
    const mod = Promise.all([
      url.protocol === 'https:' ? import('node:https') : import('node:http'),
      proxy ? proxyAgent(url, proxy, { keepAlive: false }) : false as const,
    ]);
    mod.then(([{ request }, agent]) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: HttpAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) {
          r.destroy();
          reject(err);
        } else resolve(value!);
      };
      const onAbort = () => finish(new FetchError(`aborted (${abortReason(req.signal!)})`));
      const timer = setTimeout(() => finish(new FetchError(`timed out after ${req.timeoutMs} ms`)), left);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const headers: Record<string, string> = { accept: '*/*', connection: 'close' };
      if (body) {
        headers['content-type'] = req.contentType ?? 'application/octet-stream';
        headers['content-length'] = String(body.length);
      }
      const r = request(url, { method, headers, agent, ...(url.protocol === 'https:' ? tlsContextOptions('default') : {}) }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const head: HttpAnswer = {
          status,
          statusText: res.statusMessage ?? '',
          ...(res.headers['content-type'] === undefined ? {} : { contentType: res.headers['content-type'] }),
          ...(res.headers.location === undefined ? {} : { location: res.headers.location }),
        };
        if (status < 200 || status >= 300) {
          res.resume();
          return finish(undefined, head);
        }
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (declared > req.maxBytes) return finish(new FetchError(`response larger than ${req.maxBytes} bytes`));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > req.maxBytes) return finish(new FetchError(`response larger than ${req.maxBytes} bytes`));
          chunks.push(c);
        });
        res.on('end', () => finish(undefined, { ...head, body: Buffer.concat(chunks) }));
        res.on('error', (e) => finish(new FetchError(e.message)));
        res.on('aborted', () => finish(new FetchError('connection closed before the response ended')));
      });
      r.on('error', (e) => finish(new FetchError(proxy ? `${e.message} (through the proxy ${describeProxy(proxy)})` : e.message)));
      r.end(body);
    }, reject);
  });
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r.name === 'TimeoutError' ? 'the revocation check ran out of time' : r.message;
  return r === undefined ? 'cancelled' : String(r);
}
