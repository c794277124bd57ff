/**
 * Loads a fast-path bundle (dist/fast/<command>.cjs, CommonJS) with a V8 code cache, so a repeated run does not
 * compile the bundle again. Node 22 has this built in (module.enableCompileCache); Node 20, which we support, does
 * not, so this does the same for our own bundles with node:vm: the bundle is compiled as a vm.Script with the
 * cached data of the previous run; when there was none (or V8 rejected it: other node version or V8 flags), the
 * code compiled during this run is serialized at exit for the next one. Measured on the 2-core dev box, whole
 * `docker sign verify REF`: ~8 ms less per run.
 *
 * Where: $DOCKER_SIGN_CACHE_DIR, else $XDG_CACHE_HOME/docker-sign, else ~/.cache/docker-sign; in code-cache/,
 * one file per command named by sha256(bundle source, node version, arch, bundle path). A run that fails (exit code not 0)
 * usually stops early and compiled little, so its cache is kept as `<name>-<hash>.partial.bin`: used, and replaced
 * by a full one after the next successful run. V8 checks the version and flags of the
 * data but not the whole source, so the name carries the source hash: a changed bundle never meets old code.
 * A cache file is only used when it is a regular file owned by this user and not writable by group/others.
 * Any failure (no home, read-only disk, damaged file) just means no cache: the bundle is compiled as usual.
 * DOCKER_SIGN_NO_CODE_CACHE=1 turns it off.
 *
 * Builtins come from process.getBuiltinModule: an ESM `import` of node:fs builds an export wrapper that
 * touches every property (loading fs streams, ~1.5 ms) before any command code runs.
 */
import type * as Fs from 'node:fs';
import type * as Vm from 'node:vm';
import type * as Crypto from 'node:crypto';
import type * as Path from 'node:path';
import type * as Os from 'node:os';
import type * as NodeModule from 'node:module';
import { mkdirsSync } from '../config/mkdir.js';

const fs = process.getBuiltinModule('node:fs') as typeof Fs;
const path = process.getBuiltinModule('node:path') as typeof Path;

const MAX_CACHE_BYTES = 32 << 20;
const STALE_CACHE_MS = 7 * 24 * 3600_000;

/** What the last requireBundle() did with the cache (for tests and diagnostics). */
export const lastLoad: { cache?: 'off' | 'miss' | 'hit' | 'partial' | 'rejected'; cacheFile?: string } = {};

export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DOCKER_SIGN_CACHE_DIR) return path.join(env.DOCKER_SIGN_CACHE_DIR, 'code-cache');
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'docker-sign', 'code-cache');
  const home = env.HOME || (process.getBuiltinModule('node:os') as typeof Os).homedir();
  return home ? path.join(home, '.cache', 'docker-sign', 'code-cache') : undefined;
}

/**
 * The cache file for a bundle: `<name>-<sha256(source, node version, arch, bundle path) prefix>.bin`. The path is
 * part of the key because the compiled code keeps the file name it was compiled from: two installs sharing one
 * cache would otherwise print each other's paths in stack traces.
 */
export function codeCacheFile(dir: string, name: string, source: string, file = ''): string {
  const crypto = process.getBuiltinModule('node:crypto') as typeof Crypto;
  const h = crypto.createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}\0${file}`).digest('hex');
  return path.join(dir, `${name}-${h.slice(0, 32)}.bin`);
}

/** The cached data in `file` if it is safe to use (ours, not writable by others, a sane size), else undefined. */
function readOwned(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size === 0 || st.size > MAX_CACHE_BYTES) return undefined;
    if (process.getuid && st.uid !== process.getuid()) return undefined;
    if ((st.mode & 0o022) !== 0) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n === 0) return undefined;
      off += n;
    }
    return buf;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const ok = () => process.exitCode === undefined || process.exitCode === 0 || process.exitCode === '0';

/**
 * Writes `data` atomically (temp file + rename, mode 0600) and drops caches of the same command not written for a
 * week (left by earlier versions). Not younger ones: another install of docker-sign on this machine (a global one
 * and a project's) has its own, which it would otherwise have to compile again after every run of this one.
 */
function writeCache(file: string, name: string, data: Buffer): void {
  const dir = path.dirname(file);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirsSync(dir, 0o700);
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    for (const f of fs.readdirSync(dir)) {
      const other = path.join(dir, f);
      if (!f.startsWith(`${name}-`) || !f.endsWith('.bin') || other === file) continue;
      // this bundle's partial cache is replaced by the full one; other bundles' caches go when stale
      const sameBundle = other === file.replace(/\.bin$/, '.partial.bin') || file === other.replace(/\.bin$/, '.partial.bin');
      if (sameBundle || Date.now() - fs.statSync(other).mtimeMs > STALE_CACHE_MS) fs.rmSync(other, { force: true });
    }
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch { /* nothing to clean */ }
  }
}

/**
 * require() of a CommonJS bundle through vm.Script with a code cache. The bundle must not use `import()` (a
 * vm.Script has no module loader for it; scripts/build.mjs checks this).
 */
export function requireBundle(file: string, name: string, env: NodeJS.ProcessEnv = process.env): unknown {
  const vm = process.getBuiltinModule('node:vm') as typeof Vm;
  const { createRequire } = process.getBuiltinModule('node:module') as unknown as { createRequire: typeof NodeModule.createRequire };
  const source = fs.readFileSync(file, 'utf8');
  const dir = env.DOCKER_SIGN_NO_CODE_CACHE ? undefined : codeCacheDir(env);
  const cacheFile = dir ? codeCacheFile(dir, name, source, file) : undefined;
  let cachedData = cacheFile ? readOwned(cacheFile) : undefined;
  const partialFile = cacheFile?.replace(/\.bin$/, '.partial.bin');
  const partial = !cachedData && partialFile ? readOwned(partialFile) : undefined;
  cachedData ??= partial;
  // The CommonJS wrapper on the first line keeps line numbers of stack traces as they are in the file.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  lastLoad.cacheFile = cacheFile;
  lastLoad.cache = !cacheFile ? 'off' : !cachedData ? 'miss' : script.cachedDataRejected ? 'rejected' : partial ? 'partial' : 'hit';
  const mod = { exports: {} as unknown };
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: unknown }, f: string, d: string) => void;
  fn.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  if (cacheFile && partialFile && (!cachedData || script.cachedDataRejected || partial)) {
    // At exit the functions this run compiled are in the script too: the next run skips compiling them.
    process.once('exit', () => {
      if (ok()) writeCache(cacheFile, name, script.createCachedData()); // (drops the partial one too)
      else if (!cachedData || script.cachedDataRejected) writeCache(partialFile, name, script.createCachedData());
    });
  }
  return mod.exports;
}
