// Shared by integration/registry*.test.ts and bench/registry.bench.ts: service lookup (fail, never skip),
// unique repository names, small OCI images built in memory, and a transparent/corrupting HTTP proxy.
import { createServer, request as httpRequest, type Server, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { digestOf, type Digest } from '../src/oci/digest.js';
import { encodeJson } from '../src/oci/manifest.js';
import { MediaType } from '../src/oci/mediaTypes.js';
import type { Descriptor } from '../src/oci/descriptor.js';

export function service(name: 'DS_REGISTRY' | 'DS_REFERRERS_REGISTRY' | 'DS_AUTH_REGISTRY' | 'DS_AUTH_USER' | 'DS_AUTH_PASS'): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: eval "$(bash scripts/services.sh env)" (services: bash scripts/services.sh start)`);
  return v;
}

export async function requireRegistry(host: string): Promise<void> {
  try {
    const r = await fetch(`http://${host}/v2/`);
    await r.arrayBuffer();
    if (r.status !== 200 && r.status !== 401) throw new Error(`HTTP ${r.status}`);
  } catch (e) {
    throw new Error(`registry ${host} is not reachable (${(e as Error).message}); start it with bash scripts/services.sh start`);
  }
}

export const uid = (): string => randomBytes(4).toString('hex');
export const repoName = (what: string): string => `ds-test/registry-${what}-${uid()}`;

export interface BuiltImage {
  config: { desc: Descriptor; bytes: Buffer };
  layers: { desc: Descriptor; bytes: Buffer }[];
  manifest: { desc: Descriptor; bytes: Buffer };
}

export function blobOf(bytes: Buffer, mediaType: string = MediaType.OCI_LAYER_GZIP): { desc: Descriptor; bytes: Buffer } {
  return { desc: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}

/** A tiny OCI image (random layers) — content is unique per call. */
export function makeImage(layerSizes: number[] = [1024], extra: Record<string, unknown> = {}): BuiltImage {
  const layers = layerSizes.map((n) => blobOf(randomBytes(n)));
  const config = blobOf(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.desc.digest) } })), MediaType.OCI_CONFIG);
  const bytes = encodeJson({ schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: config.desc, layers: layers.map((l) => l.desc), ...extra });
  return { config, layers, manifest: { desc: { mediaType: MediaType.OCI_MANIFEST, digest: digestOf(bytes), size: bytes.length }, bytes } };
}

export const EMPTY = blobOf(Buffer.from('{}'), MediaType.OCI_EMPTY);

/** A referrer artifact manifest (empty config, one layer) pointing at `subject`. */
export function makeReferrer(subject: Descriptor, artifactType: string, annotations: Record<string, string> = {}): { desc: Descriptor; bytes: Buffer; layer: { desc: Descriptor; bytes: Buffer } } {
  const layer = blobOf(randomBytes(64), 'application/octet-stream');
  const bytes = encodeJson({
    schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, artifactType, config: EMPTY.desc, layers: [layer.desc],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { 'org.example.created': new Date().toISOString(), ...annotations },
  });
  return { desc: { mediaType: MediaType.OCI_MANIFEST, digest: digestOf(bytes) as Digest, size: bytes.length }, bytes, layer };
}

export interface Proxy {
  host: string;
  requests: { method: string; url: string }[];
  /** Rewrites response bodies of matching requests (GET only). */
  corrupt?: (req: IncomingMessage, body: Buffer) => Buffer | undefined;
  /** Called with each upstream answer before it is passed on. */
  answered?: (req: IncomingMessage, status: number) => void;
  close(): Promise<void>;
}

/**
 * A real HTTP reverse proxy on loopback in front of `target` (host:port); the Host header is passed through, so
 * registry-built URLs (upload Location, Link) point back at the proxy. Requests are logged; when `corrupt`
 * returns a buffer for a request, that buffer is sent instead of the upstream body (headers kept).
 */
export async function startProxy(target: string): Promise<Proxy> {
  const [thost, tport] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const proxy: Proxy = { host: '', requests: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    proxy.requests.push({ method: req.method!, url: req.url! });
    const up = httpRequest({ host: thost, port: tport, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('end', () => {
        let body: Buffer = Buffer.concat(chunks);
        const replaced = req.method === 'GET' && ur.statusCode === 200 ? proxy.corrupt?.(req, body) : undefined;
        const headers = { ...ur.headers };
        if (replaced) {
          body = replaced;
          headers['content-length'] = String(body.length);
          delete headers['transfer-encoding'];
        }
        proxy.answered?.(req, ur.statusCode ?? 502);
        res.writeHead(ur.statusCode ?? 502, headers);
        res.end(req.method === 'HEAD' ? undefined : body);
      });
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return proxy;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<Error & { code: string; hint?: string; status?: number; exitCode: number }> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  if (!(e instanceof Error)) throw new Error(`expected an error with code ${code}, got success`);
  if ((e as Error & { code?: string }).code !== code) throw new Error(`expected code ${code}, got ${(e as Error & { code?: string }).code}: ${e.message}`);
  return e as Error & { code: string; hint?: string; status?: number; exitCode: number };
}
