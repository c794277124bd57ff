/**
 * Registry TLS material the way the Docker engine finds it: a folder per registry host (`host` or `host:port`, as
 * written in image references) under /etc/docker/certs.d (rootless docker: $XDG_CONFIG_HOME/docker/certs.d,
 * default ~/.config/docker/certs.d, looked at first when not root), holding
 *   - `*.crt`: CA certificates trusted for that registry, in addition to the system roots;
 *   - `*.cert` + `*.key` with the same base name: a client certificate and its key.
 * `DOCKER_SIGN_CERTS_D` names another folder to use instead (tests, or a user without access to /etc).
 * Read once per host and process; a folder that does not exist means "nothing special".
 */
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import { ConfigError } from '../errors.js';

const fs = process.getBuiltinModule('node:fs') as typeof Fs;
const path = process.getBuiltinModule('node:path') as typeof Path;

export interface RegistryTls {
  /** The folder the material came from. */
  dir: string;
  /** The folder's CA certificates, trusted in addition to the system roots (undefined: system roots only). */
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
}

export function certsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.DOCKER_SIGN_CERTS_D) return [env.DOCKER_SIGN_CERTS_D];
  const dirs: string[] = [];
  if (process.getuid?.() !== 0) {
    const cfg = env.XDG_CONFIG_HOME || (env.HOME ? path.join(env.HOME, '.config') : undefined);
    if (cfg) dirs.push(path.join(cfg, 'docker', 'certs.d'));
  }
  dirs.push('/etc/docker/certs.d');
  return dirs;
}

const cache = new Map<string, RegistryTls | undefined>();

/** TLS material for registry `host` (host[:port]), or undefined when no certs.d folder names it. */
export function registryTls(host: string, env: NodeJS.ProcessEnv = process.env): RegistryTls | undefined {
  const key = `${host}\0${env.DOCKER_SIGN_CERTS_D ?? ''}`;
  if (cache.has(key)) return cache.get(key);
  let found: RegistryTls | undefined;
  for (const base of certsDirs(env)) {
    const dir = path.join(base, host);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    found = { dir };
    const read = (f: string) => {
      try {
        return fs.readFileSync(path.join(dir, f));
      } catch (e) {
        throw new ConfigError('REGISTRY_CERTS_UNREADABLE', `cannot read ${path.join(dir, f)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const cas = names.filter((n) => n.endsWith('.crt')).sort();
    if (cas.length > 0) found.ca = cas.map((n) => read(n).toString('utf8'));
    const certs = names.filter((n) => n.endsWith('.cert')).sort();
    for (const c of certs) {
      const k = `${c.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(k)) {
        throw new ConfigError('REGISTRY_CERTS_INVALID', `${path.join(dir, c)} has no matching ${k}`, { hint: 'docker pairs client certificates by name: NAME.cert with NAME.key' });
      }
      found.cert = read(c);
      found.key = read(k);
      break;
    }
    for (const k of names.filter((n) => n.endsWith('.key'))) {
      if (!names.includes(`${k.slice(0, -'.key'.length)}.cert`)) {
        throw new ConfigError('REGISTRY_CERTS_INVALID', `${path.join(dir, k)} has no matching ${k.slice(0, -'.key'.length)}.cert`, { hint: 'docker pairs client certificates by name: NAME.cert with NAME.key' });
      }
    }
    break;
  }
  cache.set(key, found);
  return found;
}
