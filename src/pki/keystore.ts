import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { ConfigPaths } from '../config/dir.js';
import { mkdirsSync } from '../config/mkdir.js';
import { LockTimeoutError, replaceFile, withFileLockSync } from '../config/files.js';

/** One entry of notation's signingkeys.json (local keys; plugin-backed "externalKey" entries are kept as-is). */
export interface KeyEntry {
  name: string;
  keyPath?: string;
  certPath?: string;
  [other: string]: unknown;
}

export interface SigningKeys {
  default?: string;
  keys: KeyEntry[];
  [other: string]: unknown;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateKeyName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new ConfigError('INVALID_KEY_NAME', `invalid key name ${JSON.stringify(name)}`, {
      hint: 'use letters, digits, ".", "_" or "-" (up to 128 characters, starting with a letter or digit)',
    });
  }
}

export function readSigningKeys(paths: ConfigPaths): SigningKeys {
  let text: string;
  try {
    text = readFileSync(paths.signingKeys, 'utf8');
  } catch (e) {
    // no file: no keys; a file we may not read (EACCES, …) is not "no keys": the error says which file and why
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [] };
    (e as NodeJS.ErrnoException).path ??= paths.signingKeys; // a read of a directory (EISDIR) names no path
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('INVALID_SIGNING_KEYS', `${paths.signingKeys} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError('INVALID_SIGNING_KEYS', `${paths.signingKeys} must be a JSON object`);
  const o = v as SigningKeys;
  if (o.keys === undefined || o.keys === null) o.keys = [];
  if (!Array.isArray(o.keys) || o.keys.some((k) => typeof k !== 'object' || k === null || typeof k.name !== 'string')) {
    throw new ConfigError('INVALID_SIGNING_KEYS', `${paths.signingKeys}: "keys" must be a list of {name, keyPath, certPath}`);
  }
  if (o.default !== undefined && typeof o.default !== 'string') throw new ConfigError('INVALID_SIGNING_KEYS', `${paths.signingKeys}: "default" must be a string`);
  return o;
}

/** Atomic write, 0600 like notation when new; an existing file keeps its link, mode and owner (src/config/files.ts). */
export function writeSigningKeys(paths: ConfigPaths, sk: SigningKeys): void {
  mkdirsSync(dirname(paths.signingKeys), 0o700);
  const out: SigningKeys = { ...(sk.default ? { default: sk.default } : {}), keys: sk.keys };
  for (const [k, v] of Object.entries(sk)) if (k !== 'default' && k !== 'keys') out[k] = v;
  replaceFile(paths.signingKeys, JSON.stringify(out, null, 4) + '\n', 0o600);
}

/**
 * Runs a read-modify-write of signingkeys.json holding its lock, so concurrent key commands on one config dir
 * (parallel CI jobs, say) do not drop each other's entries.
 */
function withKeysLock<T>(paths: ConfigPaths, fn: () => T): T {
  mkdirsSync(dirname(paths.signingKeys), 0o700);
  try {
    return withFileLockSync(paths.signingKeys, fn);
  } catch (e) {
    if (e instanceof LockTimeoutError) {
      throw new ConfigError('SIGNING_KEYS_LOCKED', e.message, { hint: `another docker-sign key command is running; if none is, remove ${e.lock}` });
    }
    throw e;
  }
}

/** Writes <config>/localkeys/<name>.key (0600) and .crt, and registers the key. Refuses to overwrite a name. */
export function addLocalKey(paths: ConfigPaths, name: string, keyPem: string, certPem: string, opts: { setDefault?: boolean } = {}): KeyEntry {
  validateKeyName(name);
  return withKeysLock(paths, () => addLocalKeyLocked(paths, name, keyPem, certPem, opts));
}

function addLocalKeyLocked(paths: ConfigPaths, name: string, keyPem: string, certPem: string, opts: { setDefault?: boolean }): KeyEntry {
  const sk = readSigningKeys(paths);
  if (sk.keys.some((k) => k.name === name)) {
    throw new ConfigError('KEY_EXISTS', `a signing key named ${JSON.stringify(name)} already exists`, { hint: `remove it first with 'docker sign key rm ${name}' or pick another name` });
  }
  mkdirsSync(paths.localKeys, 0o700);
  const keyPath = join(paths.localKeys, `${name}.key`);
  const certPath = join(paths.localKeys, `${name}.crt`);
  writeFileSync(keyPath, keyPem, { mode: 0o600, flag: 'w' });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, certPem, { mode: 0o644 });
  const entry: KeyEntry = { name, keyPath, certPath };
  sk.keys.push(entry);
  if (opts.setDefault || !sk.default) sk.default = name;
  writeSigningKeys(paths, sk);
  return entry;
}

/** Unregisters a key; deletes its files only when they live in our localkeys dir. */
export function removeKey(paths: ConfigPaths, name: string): { removed: KeyEntry; deletedFiles: string[] } {
  return withKeysLock(paths, () => removeKeyLocked(paths, name));
}

function removeKeyLocked(paths: ConfigPaths, name: string): { removed: KeyEntry; deletedFiles: string[] } {
  const sk = readSigningKeys(paths);
  const i = sk.keys.findIndex((k) => k.name === name);
  if (i < 0) throw new ConfigError('KEY_NOT_FOUND', `no signing key named ${JSON.stringify(name)}`, { hint: "list keys with 'docker sign key ls'" });
  const [removed] = sk.keys.splice(i, 1);
  if (sk.default === name) delete sk.default;
  writeSigningKeys(paths, sk);
  const deletedFiles: string[] = [];
  for (const p of [removed!.keyPath, removed!.certPath]) {
    if (typeof p === 'string' && dirname(p) === paths.localKeys && existsSync(p)) {
      rmSync(p);
      deletedFiles.push(p);
    }
  }
  return { removed: removed!, deletedFiles };
}

export function setDefaultKey(paths: ConfigPaths, name: string): void {
  withKeysLock(paths, () => {
    const sk = readSigningKeys(paths);
    if (!sk.keys.some((k) => k.name === name)) throw new ConfigError('KEY_NOT_FOUND', `no signing key named ${JSON.stringify(name)}`, { hint: "list keys with 'docker sign key ls'" });
    sk.default = name;
    writeSigningKeys(paths, sk);
  });
}

export function findKey(paths: ConfigPaths, name?: string): KeyEntry {
  const sk = readSigningKeys(paths);
  const n = name ?? sk.default;
  if (!n) {
    throw new ConfigError('NO_SIGNING_KEY', sk.keys.length === 0 ? 'no signing key is configured' : 'no default signing key is set', {
      hint: sk.keys.length === 0 ? "create one with 'docker sign key generate NAME' or import one with 'docker sign key import'" : "pass --key NAME or set one with 'docker sign key default NAME'",
    });
  }
  const e = sk.keys.find((k) => k.name === n);
  if (!e) throw new ConfigError('KEY_NOT_FOUND', `no signing key named ${JSON.stringify(n)}`, { hint: "list keys with 'docker sign key ls'" });
  if (typeof e.keyPath !== 'string' || typeof e.certPath !== 'string') {
    throw new ConfigError('UNSUPPORTED_KEY', `signing key ${JSON.stringify(n)} is not a local key (plugin keys are not supported)`);
  }
  return e;
}
