/**
 * Registry credentials the way the docker CLI finds them in its config dir (`$DOCKER_CONFIG` or ~/.docker):
 *   1. `credHelpers[<host>]` → `docker-credential-<helper> get`
 *   2. `credsStore`          → `docker-credential-<store> get`
 *   3. `auths[<key>]`        → `auth` (base64 "user:password") or `username`/`password`, `identitytoken`
 * Credential helper protocol: the server URL on stdin, `{"ServerURL","Username","Secret"}` JSON on stdout;
 * Username "<token>" means Secret is an identity (refresh) token; "credentials not found" means anonymous.
 * Docker Hub is stored under "https://index.docker.io/v1/".
 */
import type { execFile as ExecFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerConfigDir } from '../config/dir.js';
import { credentialKey } from '../oci/reference.js';
import { RegistryError } from './errors.js';

export interface Credentials {
  username: string;
  password: string;
  /** OAuth2 refresh token from `docker login` against token-auth registries (sent to the token endpoint). */
  identityToken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** "https://host:port/v1/" → "host:port" (docker's ConvertToHostname). */
function hostOfKey(key: string): string {
  let k = key.replace(/^https?:\/\//, '');
  const slash = k.indexOf('/');
  if (slash >= 0) k = k.slice(0, slash);
  return k;
}

async function readConfig(dir: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RegistryError('CREDENTIALS', `cannot read ${join(dir, 'config.json')}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as DockerConfigFile;
  } catch (e) {
    throw new RegistryError('CREDENTIALS', `${join(dir, 'config.json')} is not valid JSON: ${(e as Error).message}`, {
      hint: 'fix or remove the docker config file (DOCKER_CONFIG selects another directory)',
      exitCode: 2,
    });
  }
}

/** Runs `docker-credential-<helper> get` with the server URL on stdin. undefined = no credentials stored. */
export function runCredentialHelper(helper: string, serverUrl: string, timeoutMs = 30_000): Promise<Credentials | undefined> {
  if (!HELPER_NAME_RE.test(helper)) {
    return Promise.reject(new RegistryError('CREDENTIALS', `invalid credential helper name "${helper}"`, { exitCode: 2 }));
  }
  const bin = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    // node:child_process is loaded only here (rarely needed; ~1.5 ms of every CLI start otherwise)
    const { execFile } = process.getBuiltinModule('node:child_process') as { execFile: typeof ExecFile };
    const child = execFile(bin, ['get'], { timeout: timeoutMs, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const out = `${stdout ?? ''}${stderr ?? ''}`;
      if (err) {
        if (/credentials not found/i.test(out)) {
          resolve(undefined);
          return;
        }
        const enoent = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new RegistryError('CREDENTIALS', `credential helper ${bin} failed for ${serverUrl}: ${enoent ? 'not found on PATH' : out.trim() || err.message}`, {
            hint: enoent ? `install ${bin} (on PATH) or remove it from the docker config.json ("credsStore" / "credHelpers")` : 'run `docker login` again',
          }),
        );
        return;
      }
      try {
        const v = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
        if (typeof v.Secret !== 'string' || (v.Username !== undefined && typeof v.Username !== 'string')) throw new Error('missing Secret');
        const username = (v.Username as string | undefined) ?? '';
        if (username === '<token>') resolve({ username: '', password: '', identityToken: v.Secret });
        else resolve({ username, password: v.Secret });
      } catch (e) {
        reject(new RegistryError('CREDENTIALS', `credential helper ${bin} printed invalid JSON: ${(e as Error).message}`));
      }
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(serverUrl);
  });
}

function fromAuthEntry(e: NonNullable<DockerConfigFile['auths']>[string]): Credentials | undefined {
  let username = e.username ?? '';
  let password = e.password ?? '';
  if (e.auth) {
    const dec = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i < 0) throw new RegistryError('CREDENTIALS', 'invalid "auth" entry in docker config.json (expected base64 of user:password)', { exitCode: 2 });
    username = dec.slice(0, i);
    password = dec.slice(i + 1);
  }
  const identityToken = e.identitytoken || undefined;
  if (!username && !password && !identityToken) return undefined;
  return { username, password, ...(identityToken ? { identityToken } : {}) };
}

/** Finds credentials for `registry` (e.g. "127.0.0.1:5000", "docker.io"); undefined = anonymous. */
export async function resolveCredentials(registry: string, configDir: string = dockerConfigDir()): Promise<Credentials | undefined> {
  const cfg = await readConfig(configDir);
  const key = credentialKey(registry);
  const host = hostOfKey(key);
  const helper = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[host] ?? cfg.credHelpers?.[registry];
  if (helper) return runCredentialHelper(helper, key);
  if (cfg.credsStore) {
    const c = await runCredentialHelper(cfg.credsStore, key);
    if (c) return c;
  }
  const auths = cfg.auths ?? {};
  const entry = auths[key] ?? auths[registry] ?? Object.entries(auths).find(([k]) => hostOfKey(k) === host)?.[1];
  return entry ? fromAuthEntry(entry) : undefined;
}
