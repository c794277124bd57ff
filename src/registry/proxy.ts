/**
 * Outbound HTTP(S) proxies, chosen from the environment the way Go's net/http does it (httpproxy.FromEnvironment,
 * so the same way as the docker CLI, the Docker engine and notation):
 *
 * - https URLs go through HTTPS_PROXY (or https_proxy), http URLs through HTTP_PROXY (or http_proxy); the upper-case
 *   name wins when both are set; there is no fallback from one to the other.
 * - localhost and loopback addresses are never proxied.
 * - NO_PROXY (or no_proxy): comma-separated; `*` turns proxies off; an IP address or CIDR range matches IP hosts;
 *   a name matches itself and its subdomains (`example.com`), or only subdomains with a leading dot (`.example.com`,
 *   also written `*.example.com`); `name:port` limits an entry to that port.
 * - A proxy URL without a scheme is http://; http:// and https:// proxies are supported, with `user:password@` for
 *   proxy authentication (Basic). SOCKS proxies are refused with a clear error (Go supports socks5, we do not).
 *
 * Requests through a proxy use https-proxy-agent (CONNECT tunnel, then TLS to the registry, certs.d material
 * included) or http-proxy-agent (plain HTTP: absolute-form requests), loaded only when a proxy applies.
 */
import type * as Http from 'node:http';
import type * as Net from 'node:net';
import { ConfigError } from '../errors.js';
import { tlsContextOptions } from './tls-roots.js';

const net = process.getBuiltinModule('node:net') as typeof Net;

function envAny(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v) return v;
  }
  return undefined;
}

/** The proxy URL to use for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const raw = url.protocol === 'https:' ? envAny(env, 'HTTPS_PROXY', 'https_proxy') : url.protocol === 'http:' ? envAny(env, 'HTTP_PROXY', 'http_proxy') : undefined;
  if (!raw) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (host === 'localhost' || isLoopback(host)) return undefined;
  if (excluded(host, port, envAny(env, 'NO_PROXY', 'no_proxy') ?? '')) return undefined;
  return parseProxy(raw, url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
}

function isLoopback(host: string): boolean {
  const v = net.isIP(host);
  if (v === 4) return host.startsWith('127.');
  if (v !== 6) return false;
  const loopback = new net.BlockList();
  loopback.addAddress('::1', 'ipv6');
  loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6'); // IPv4-mapped 127/8
  return loopback.check(host, 'ipv6');
}

function parseProxy(raw: string, name: string): URL {
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new ConfigError('INVALID_PROXY', `${name} is not a valid proxy URL: ${JSON.stringify(raw)}`, { hint: 'use http://host:port (or https://, with user:password@ for authentication)' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError('UNSUPPORTED_PROXY', `${name}: ${u.protocol.replace(/:$/, '')} proxies are not supported (${u.host})`, { hint: 'use an HTTP or HTTPS proxy' });
  }
  return u;
}

/** True when NO_PROXY says `host`:`port` is reached directly. */
function excluded(host: string, port: string, noProxy: string): boolean {
  const ip = net.isIP(host) ? host : undefined;
  for (let entry of noProxy.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (entry === '*') return true;
    if (entry.includes('/')) {
      // CIDR
      const [addr, bits] = entry.split('/');
      const family = net.isIP(addr!);
      if (ip && family && net.isIP(ip) === family) {
        const list = new net.BlockList();
        try {
          list.addSubnet(addr!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
          if (list.check(ip, family === 4 ? 'ipv4' : 'ipv6')) return true;
        } catch { /* not a valid range: no match */ }
      }
      continue;
    }
    if (net.isIP(entry.replace(/^\[|\]$/g, ''))) {
      if (ip && entry.replace(/^\[|\]$/g, '') === ip) return true;
      continue;
    }
    // name[:port]
    let entryPort = '';
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !m[1]!.includes(':')) {
      entry = m[1]!;
      entryPort = m[2]!;
      if (net.isIP(entry)) {
        if (ip === entry && entryPort === port) return true;
        continue;
      }
    }
    if (entryPort && entryPort !== port) continue;
    if (entry.startsWith('*.')) entry = entry.slice(1);
    const subdomainsOnly = entry.startsWith('.');
    const suffix = subdomainsOnly ? entry : `.${entry}`;
    if (host.endsWith(suffix) || (!subdomainsOnly && host === entry)) return true;
  }
  return false;
}

/** What a proxied request needs: the agent (pooled per proxy, target scheme and pool size). */
const agents = new Map<string, Http.Agent>();

export async function proxyAgent(target: URL, proxy: URL, opts: { keepAlive: boolean; maxSockets?: number }): Promise<Http.Agent> {
  const key = `${target.protocol}${proxy.href}\0${opts.keepAlive}\0${opts.maxSockets ?? ''}`;
  const known = agents.get(key);
  if (known) return known;
  const agentOpts = {
    keepAlive: opts.keepAlive, ...(opts.maxSockets ? { maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets } : {}), timeout: 30_000,
    // TLS to an https:// proxy itself trusts what our other connections trust (tls-roots.ts)
    ...(proxy.protocol === 'https:' ? tlsContextOptions('default') : {}),
  };
  let agent: Http.Agent;
  if (target.protocol === 'https:') {
    const mod = await import('https-proxy-agent');
    const { HttpsProxyAgent } = ((mod as unknown as { default?: typeof mod }).default ?? mod) as typeof mod;
    agent = new HttpsProxyAgent(proxy, agentOpts);
  } else {
    const mod = await import('http-proxy-agent');
    const { HttpProxyAgent } = ((mod as unknown as { default?: typeof mod }).default ?? mod) as typeof mod;
    agent = new HttpProxyAgent(proxy, agentOpts);
  }
  if (opts.keepAlive) agents.set(key, agent);
  return agent;
}

/** Closes the pooled proxy connections (see closePools in http.ts). */
export function closeProxyAgents(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

/** The proxy in a form fit for messages: scheme://host:port, without credentials. */
export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}
