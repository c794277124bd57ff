/**
 * Access to the Docker Engine the user's docker CLI talks to.
 *
 * Endpoint resolution follows docker/cli (v28 `resolveContextName` + `getDockerEndpoint`). The plug-in entry
 * (plugins/cli/argv.ts) has already turned docker's global flags into the environment (`--context` sets
 * DOCKER_CONTEXT and drops DOCKER_HOST, `-H` sets DOCKER_HOST, `--config` sets DOCKER_CONFIG, `--tlsverify` sets
 * DOCKER_TLS_VERIFY, `--tlscacert/--tlscert/--tlskey` set DOCKER_SIGN_TLS_*), so here the order is:
 *
 *   DOCKER_HOST  >  DOCKER_CONTEXT  >  `currentContext` in $DOCKER_CONFIG/config.json  >  unix:///var/run/docker.sock
 *
 * A named context is read from the context store: $DOCKER_CONFIG/contexts/meta/<sha256(name)>/meta.json
 * (`Endpoints.docker.Host`, `SkipTLSVerify`), with TLS material in $DOCKER_CONFIG/contexts/tls/<sha256(name)>/docker/
 * {ca,cert,key}.pem. The context named "default" is the built-in one (DOCKER_HOST or the default socket).
 * For DOCKER_HOST, TLS is used when DOCKER_TLS_VERIFY (verify) or DOCKER_TLS is non-empty, with ca/cert/key.pem from
 * DOCKER_CERT_PATH (default $DOCKER_CONFIG), individual files overridable by --tlscacert/--tlscert/--tlskey.
 *
 * dockerode costs ~90 ms to load, so it is imported on first use only (getEngine); inspectImage and saveImage talk
 * HTTP to the engine directly (node:http over the unix socket / tcp, TLS as resolved, or an ssh connection as the
 * docker CLI makes it: src/docker/ssh.ts) and use dockerode only for npipe:// endpoints.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { DockerSignError, InputError, ConfigError, EXIT } from '../errors.js';
import { dockerConfigDir } from '../config/dir.js';
import { notEngineApi, parseSshHost, sshAgent, sshConnection } from './ssh.js';
import { defaultCaList } from '../registry/tls-roots.js';
import { DEFAULT_DOCKER_HOST, resolveContextName, truthyEnv } from './context.js';
import { takeEarlyGet } from './early.js';

export { DEFAULT_DOCKER_HOST, resolveContextName };

export class EngineError extends DockerSignError {
  constructor(code: 'ENGINE_UNREACHABLE' | 'IMAGE_NOT_FOUND' | 'ENGINE_ERROR' | 'CONTEXT_NOT_FOUND' | 'INVALID_DOCKER_HOST' | 'PLATFORM_MISMATCH' | string,
    message: string, opts: { hint?: string; cause?: unknown; exitCode?: number; details?: Record<string, unknown> } = {}) {
    super(code, message, {
      exitCode: code === 'IMAGE_NOT_FOUND' || code === 'CONTEXT_NOT_FOUND' || code === 'INVALID_DOCKER_HOST' || code === 'PLATFORM_MISMATCH' ? EXIT.USAGE : EXIT.UNAVAILABLE,
      ...opts,
    });
  }
}

export interface EngineEndpoint {
  /** e.g. unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host */
  host: string;
  /** Where the endpoint came from: "DOCKER_HOST", "context <name>" or "default". */
  source: string;
  /** Context name when resolved through a context (including "default"). */
  context?: string;
  tls?: { verify: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer };
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function readIf(p: string | undefined): Buffer | undefined {
  return p && existsSync(p) ? readFileSync(p) : undefined;
}

/** TLS settings for an endpoint given by DOCKER_HOST / -H (docker/cli flags + env semantics). */
function envTls(env: NodeJS.ProcessEnv): EngineEndpoint['tls'] {
  const verify = truthyEnv(env.DOCKER_TLS_VERIFY);
  const explicit = truthyEnv(env.DOCKER_SIGN_TLS_CACERT) || truthyEnv(env.DOCKER_SIGN_TLS_CERT) || truthyEnv(env.DOCKER_SIGN_TLS_KEY);
  if (!verify && !truthyEnv(env.DOCKER_TLS) && !explicit) return undefined;
  const certDir = env.DOCKER_CERT_PATH || dockerConfigDir(env);
  return {
    verify,
    ca: readIf(env.DOCKER_SIGN_TLS_CACERT || join(certDir, 'ca.pem')),
    cert: readIf(env.DOCKER_SIGN_TLS_CERT || join(certDir, 'cert.pem')),
    key: readIf(env.DOCKER_SIGN_TLS_KEY || join(certDir, 'key.pem')),
  };
}

/** Resolves the daemon endpoint exactly as the docker CLI would (see the module comment). */
export function resolveEndpoint(env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  const ctx = resolveContextName(env);
  if (ctx === undefined) return { host: env.DOCKER_HOST!, source: 'DOCKER_HOST', tls: envTls(env) };
  if (ctx === 'default') {
    return { host: DEFAULT_DOCKER_HOST, source: 'default', context: 'default', tls: envTls(env) };
  }
  const id = sha256Hex(ctx);
  const root = join(dockerConfigDir(env), 'contexts');
  const metaFile = join(root, 'meta', id, 'meta.json');
  if (!existsSync(metaFile)) {
    throw new EngineError('CONTEXT_NOT_FOUND', `docker context "${ctx}" not found (no ${metaFile})`, {
      hint: 'list contexts with `docker context ls`; select one with --context, DOCKER_CONTEXT or `docker context use`',
    });
  }
  let meta: { Name?: string; Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8'));
  } catch (e) {
    throw new ConfigError('DOCKER_CONTEXT_INVALID', `${metaFile} is not valid JSON`, { cause: e });
  }
  const ep = meta.Endpoints?.docker;
  if (!ep || typeof ep.Host !== 'string' || ep.Host === '') {
    throw new EngineError('CONTEXT_NOT_FOUND', `docker context "${ctx}" has no docker endpoint`, { hint: `inspect it with \`docker context inspect ${ctx}\`` });
  }
  const tlsDir = join(root, 'tls', id, 'docker');
  const ca = readIf(join(tlsDir, 'ca.pem'));
  const cert = readIf(join(tlsDir, 'cert.pem'));
  const key = readIf(join(tlsDir, 'key.pem'));
  const tls = ca || cert || key || ep.SkipTLSVerify ? { verify: !ep.SkipTLSVerify, ca, cert, key } : undefined;
  return { host: ep.Host, source: `context ${ctx}`, context: ctx, tls };
}

/** dockerode constructor options for an endpoint. */
export function dockerodeOptions(ep: EngineEndpoint): Dockerode.DockerOptions {
  const h = ep.host;
  if (h.startsWith('unix://')) {
    const p = h.slice('unix://'.length);
    if (!p) throw new EngineError('INVALID_DOCKER_HOST', `invalid docker host "${h}"`);
    return { socketPath: p };
  }
  if (h.startsWith('npipe://')) return { socketPath: h.slice('npipe://'.length) };
  let u: URL;
  try {
    u = new URL(h.includes('://') ? h : `tcp://${h}`);
  } catch {
    throw new EngineError('INVALID_DOCKER_HOST', `invalid docker host "${h}"`, { hint: 'use unix:///path/docker.sock, tcp://HOST:PORT or ssh://USER@HOST' });
  }
  if (u.protocol === 'ssh:') {
    // as the docker CLI: the system ssh client running `docker system dial-stdio` (src/docker/ssh.ts), not
    // dockerode's own ssh (an agent only, no ~/.ssh/config or key files)
    return { protocol: 'http', host: 'docker', port: 80, agent: sshAgent(parseSshHost(h)) } as Dockerode.DockerOptions;
  }
  if (u.protocol !== 'tcp:' && u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new EngineError('INVALID_DOCKER_HOST', `unsupported docker host scheme in "${h}"`);
  }
  const tls = ep.tls;
  const https = tls !== undefined || u.protocol === 'https:';
  const port = u.port || (https ? '2376' : '2375');
  const opts: Dockerode.DockerOptions & { rejectUnauthorized?: boolean } = { protocol: https ? 'https' : 'http', host: u.hostname.replace(/^\[|\]$/g, ''), port };
  if (https) {
    // ca.pem replaces the roots; without one, the roots our other TLS connections trust (tls-roots.ts)
    const ca = tls?.ca ?? defaultCaList();
    if (ca) opts.ca = ca;
  }
  if (https && tls) {
    if (tls.cert) opts.cert = tls.cert;
    if (tls.key) opts.key = tls.key;
    // docker: TLS without --tlsverify encrypts but does not verify the daemon's certificate.
    if (!tls.verify) (opts as { rejectUnauthorized?: boolean }).rejectUnauthorized = false;
  }
  return opts;
}

export function describeEndpoint(ep: EngineEndpoint): string {
  return ep.source === 'DOCKER_HOST' ? `${ep.host} (from DOCKER_HOST / -H)` : ep.source === 'default' ? `${ep.host} (default)` : `${ep.host} (${ep.source})`;
}

let cached: { key: string; docker: Dockerode; endpoint: EngineEndpoint } | undefined;

/** The engine client for the current environment (created lazily, cached per endpoint). */
export async function getEngine(env: NodeJS.ProcessEnv = process.env): Promise<{ docker: Dockerode; endpoint: EngineEndpoint }> {
  const endpoint = resolveEndpoint(env);
  const key = JSON.stringify([endpoint.host, endpoint.tls?.verify, endpoint.context]);
  if (cached?.key === key) return cached;
  const mod = await import('dockerode');
  const DockerCtor = (mod.default ?? mod) as unknown as typeof Dockerode;
  const docker = new DockerCtor(dockerodeOptions(endpoint));
  cached = { key, docker, endpoint };
  return cached;
}

interface ModemError extends Error {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
}

/** Maps dockerode / socket errors to EngineError. */
export function engineError(e: unknown, endpoint: EngineEndpoint, what: string, ref?: string): DockerSignError {
  if (e instanceof DockerSignError) return e;
  const err = e as ModemError;
  const net = ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'];
  if (err?.code === 'ESSH') {
    return new EngineError('ENGINE_UNREACHABLE', `cannot connect to the Docker daemon at ${describeEndpoint(endpoint)}: ${err.message}`, {
      hint: `docker reaches ${endpoint.host} with the ssh client and \`docker system dial-stdio\` there: check that \`ssh\` to that host works without a prompt and that docker is installed there`,
      cause: e,
      details: { endpoint: endpoint.host },
    });
  }
  if (err?.code && net.includes(err.code) && err.statusCode === undefined) {
    const perm = err.code === 'EACCES' ? ' (permission denied: is your user in the docker group?)' : '';
    return new EngineError('ENGINE_UNREACHABLE', `cannot connect to the Docker daemon at ${describeEndpoint(endpoint)}: ${err.code}${perm}`, {
      hint: `is the docker daemon running at ${endpoint.host}? select another one with -H/--host, --context, DOCKER_HOST or DOCKER_CONTEXT`,
      cause: e,
      details: { endpoint: endpoint.host },
    });
  }
  const msg = err?.json?.message ?? err?.reason ?? err?.message ?? String(e);
  if (err?.statusCode === 404 && ref !== undefined) {
    return new EngineError('IMAGE_NOT_FOUND', `image "${ref}" not found in the Docker engine at ${endpoint.host}`, {
      hint: 'build or pull the image first (docker images lists local images)',
      cause: e,
    });
  }
  if (err?.statusCode === 400 && ref !== undefined) {
    return new EngineError('INVALID_REFERENCE', `the engine rejected the image reference "${ref}": ${msg}`, { cause: e, exitCode: EXIT.USAGE });
  }
  return new EngineError('ENGINE_ERROR', `${what} failed: ${msg}`, { cause: e, details: { statusCode: err?.statusCode } });
}

/**
 * One HTTP request to the engine without loading dockerode (which costs ~90-170 ms): node:http over the unix socket,
 * or http/https for tcp:// endpoints (TLS material as resolved), or ssh (src/docker/ssh.ts). npipe:// endpoints go
 * through dockerode.
 * Resolves with the response (any status); connection failures reject with the raw error.
 */
async function rawRequest(ep: EngineEndpoint, method: string, path: string): Promise<import('node:http').IncomingMessage | undefined> {
  if (ep.host.startsWith('npipe://')) return undefined;
  if (ep.host.startsWith('ssh://')) {
    const target = parseSshHost(ep.host);
    const http = await import('node:http');
    return new Promise((resolvePromise, reject) => {
      let sock: unknown;
      const req = http.request({ method, path, headers: { host: 'docker', 'user-agent': 'docker-sign' }, createConnection: () => (sock = sshConnection(target)) as never }, resolvePromise);
      req.on('error', (e: NodeJS.ErrnoException) => reject(e.code?.startsWith('HPE_') ? notEngineApi(sock) : e));
      req.end();
    });
  }
  const o = dockerodeOptions(ep) as Dockerode.DockerOptions & { rejectUnauthorized?: boolean };
  // asked for before this code was loaded (src/docker/early.ts): same socket, same request
  const early = o.socketPath && method === 'GET' ? takeEarlyGet(o.socketPath, path) : undefined;
  if (early) return early;
  const https = o.protocol === 'https';
  const mod = https ? await import('node:https') : await import('node:http');
  return new Promise((resolvePromise, reject) => {
    const req = mod.request({
      method,
      path,
      headers: { host: 'docker', 'user-agent': 'docker-sign' },
      // A unix socket is connected here, without an http.Agent: the agent works out a TLS server name for every
      // socket (net.isIP, whose first call compiles node's IPv6 pattern: ~5 ms of start-up) and keeps nothing we reuse.
      ...(o.socketPath ? { socketPath: o.socketPath, createConnection: () => (process.getBuiltinModule('node:net') as typeof import('node:net')).connect({ path: o.socketPath! }) } : { host: o.host, port: Number(o.port) }),
      ...(https ? { ca: o.ca as Buffer | string[] | undefined, cert: o.cert as Buffer | undefined, key: o.key as Buffer | undefined, rejectUnauthorized: o.rejectUnauthorized !== false } : {}),
    }, resolvePromise);
    req.on('error', reject);
    req.end();
  });
}

async function readBody(res: import('node:http').IncomingMessage, max = 8 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > max) throw new EngineError('ENGINE_ERROR', 'the engine sent an unexpectedly large response');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/** Maps a non-2xx engine response to an EngineError (as engineError does for dockerode). */
async function statusError(res: import('node:http').IncomingMessage, endpoint: EngineEndpoint, what: string, ref?: string): Promise<DockerSignError> {
  const text = (await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
  let message = text.trim();
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch { /* plain text */ }
  const e = Object.assign(new Error(message), { statusCode: res.statusCode, json: { message } });
  return engineError(e, endpoint, what, ref);
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  RootFS: { Type: string; Layers?: string[] };
  Os: string;
  Architecture: string;
  Variant?: string;
}

function checkRef(ref: string): void {
  if (typeof ref !== 'string' || ref.length === 0 || /\s/.test(ref)) {
    throw new InputError('INVALID_REFERENCE', `invalid image reference "${ref}"`);
  }
}

/**
 * GET `path` from the engine as JSON: raw HTTP where rawRequest can, else `fallback` through dockerode. Every failure
 * (connection, non-200 answer, bad JSON) becomes an EngineError via engineError (`ref` names an image for 404/400).
 */
async function engineJson(env: NodeJS.ProcessEnv, path: string, what: string, fallback: (docker: Dockerode) => Promise<unknown>,
  opts: { ref?: string; maxBytes?: number } = {}): Promise<unknown> {
  const endpoint = resolveEndpoint(env);
  try {
    const res = await rawRequest(endpoint, 'GET', path);
    if (!res) return await fallback((await getEngine(env)).docker);
    if (res.statusCode !== 200) throw await statusError(res, endpoint, what, opts.ref);
    return JSON.parse((await readBody(res, opts.maxBytes)).toString('utf8'));
  } catch (e) {
    throw engineError(e, endpoint, what, opts.ref);
  }
}

/** `docker image inspect REF` (the fields we use). IMAGE_NOT_FOUND / ENGINE_UNREACHABLE as EngineError. */
export async function inspectImage(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<ImageInspect> {
  checkRef(ref);
  const info = await engineJson(env, `/images/${encodeURIComponent(ref)}/json`, `inspecting image ${ref}`, (docker) => docker.getImage(ref).inspect(), { ref }) as Dockerode.ImageInspectInfo;
  return {
    Id: info.Id,
    RepoTags: info.RepoTags ?? [],
    RepoDigests: info.RepoDigests ?? [],
    RootFS: info.RootFS as ImageInspect['RootFS'],
    Os: info.Os,
    Architecture: info.Architecture,
    Variant: (info as { Variant?: string }).Variant,
  };
}

/**
 * The `docker save` stream of one image (GET /images/get?names=REF). Resolves once the daemon answered 200;
 * connection/404 errors reject with an EngineError. Stream errors later are mapped as well.
 */
export async function saveImage(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<Readable> {
  checkRef(ref);
  const endpoint = resolveEndpoint(env);
  let res: import('node:http').IncomingMessage | undefined;
  try {
    res = await rawRequest(endpoint, 'GET', `/images/get?names=${encodeURIComponent(ref)}`);
  } catch (e) {
    throw engineError(e, endpoint, `saving image ${ref}`, ref);
  }
  if (res) {
    if (res.statusCode !== 200) throw withoutLayers(await statusError(res, endpoint, `saving image ${ref}`, ref), ref);
    return res;
  }
  const { docker } = await getEngine(env);
  try {
    return (await docker.getImage(ref).get()) as unknown as Readable;
  } catch (e) {
    throw withoutLayers(engineError(e, endpoint, `saving image ${ref}`, ref), ref);
  }
}

/**
 * dockerd 20.10 cannot `docker save` an image that has no layers (FROM scratch with only metadata): it answers 500
 * "empty export - not implemented". Without the save stream the config's exact bytes cannot be had, so say so and
 * what works instead (docker push uploads such an image; its pushed digest can be signed).
 */
function withoutLayers(e: DockerSignError, ref: string): DockerSignError {
  if (e.code !== 'ENGINE_ERROR' || !/empty export/i.test(e.message)) return e;
  return new EngineError('IMAGE_WITHOUT_LAYERS', `${ref} has no layers, and this engine cannot export such an image (docker save: "empty export - not implemented")`, {
    exitCode: EXIT.USAGE,
    hint: `push it with \`docker push ${ref}\`, then sign what was pushed: \`docker sign REPOSITORY@DIGEST\``,
    cause: e,
  });
}

/** Drops a `docker save` stream asked for but not read (the engine stops producing it when the socket closes). */
export function dropSave(save: Promise<Readable> | undefined): void {
  save?.then((s) => s.destroy(), () => undefined);
}

/** One image of the engine's list (GET /images/json?all=1): its ID and the names (repo:tag) pointing at it. */
export interface EngineImage {
  Id: string;
  RepoTags: string[];
}

/** Every image the engine holds, intermediate ones included (`docker image ls --all`). */
export async function listImages(env: NodeJS.ProcessEnv = process.env): Promise<EngineImage[]> {
  const raw = await engineJson(env, '/images/json?all=1', 'listing images', (docker) => docker.listImages({ all: true }), { maxBytes: 64 << 20 });
  if (!Array.isArray(raw)) throw new EngineError('ENGINE_ERROR', 'the engine answered the image list with something that is not a list');
  return raw.flatMap((i: { Id?: unknown; RepoTags?: unknown }) => (typeof i?.Id === 'string'
    ? [{ Id: i.Id, RepoTags: Array.isArray(i.RepoTags) ? i.RepoTags.filter((t): t is string => typeof t === 'string' && t !== '<none>:<none>') : [] }]
    : []));
}

/**
 * Whether the engine keeps images in the containerd image store (Docker Desktop and dockerd >= 24 with the
 * containerd snapshotter): there an image ID is the digest of the image's index or manifest, not of its config, so
 * it cannot be matched with the config digest of a manifest we generated. GET /info: a DriverStatus pair
 * ["driver-type", "io.containerd.snapshotter.v1"].
 */
export async function usesContainerdImageStore(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const info = await engineJson(env, '/info', 'asking the engine for its info', (docker) => docker.info()) as { DriverStatus?: unknown } | null;
  return Array.isArray(info?.DriverStatus) && info.DriverStatus.some((p) => Array.isArray(p) && typeof p[1] === 'string' && p[1].startsWith('io.containerd.snapshotter'));
}

/** Checks that the daemon answers (GET /_ping). */
export async function pingEngine(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { docker, endpoint } = await getEngine(env);
  try {
    await docker.ping();
  } catch (e) {
    throw engineError(e, endpoint, 'ping');
  }
}
