/**
 * Replacing a file the user owns (an rc file, docker's config.json, dockerd's daemon.json, a plug-in spec) without
 * losing what it was: written atomically (temp file beside it, then rename), through a symlink (a dotfiles manager's
 * ~/.bashrc -> ~/dotfiles/bashrc, a daemon.json kept by configuration management stays a link), with its mode, and
 * with its owner when we run as root. `mode` applies to a file that does not exist yet.
 */
import { chmodSync, chownSync, closeSync, openSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { mkdirsSync } from './mkdir.js';
import { ConfigError } from '../errors.js';

export function replaceFile(file: string, text: string, mode = 0o644): void {
  let target = file;
  let keep: { mode: number; uid: number; gid: number } | undefined;
  try {
    target = realpathSync(file);
    const st = statSync(target);
    keep = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    target = file; // a new file (or a dangling link: then the link itself is replaced)
  }
  mkdirsSync(dirname(target));
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, text, { mode: keep?.mode ?? mode, flag: 'wx' });
    chmodSync(tmp, keep?.mode ?? mode);
    if (keep && process.getuid?.() === 0 && (keep.uid !== 0 || keep.gid !== 0)) chownSync(tmp, keep.uid, keep.gid);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The JSON object in a config file the user owns (docker's config.json, dockerd's daemon.json) that we are about to
 * update: a missing or empty file is {}; anything that is not a JSON object is ConfigError `code` naming the file,
 * so the update stops with the file as it was.
 */
export function readJsonObjectFile(file: string, code: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(code, `${file} is not valid JSON (${(e as Error).message}); fix it, nothing was changed`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(code, `${file} must hold a JSON object; fix it, nothing was changed`);
  return v as Record<string, unknown>;
}

/** True while process `pid` (of this host) exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock could not be taken in time (another process holds it). */
export class LockTimeoutError extends Error {
  readonly code = 'LOCK_TIMEOUT';
  constructor(readonly lock: string) {
    super(`timed out waiting for the lock ${lock}`);
  }
}

/**
 * Lock files: `<file>.lock`, created with O_EXCL and holding the owner's pid. A lock whose owner is dead (same host),
 * that names no owner 5 seconds after it was made (empty, garbage), or that is older than 10 minutes is broken (renamed away first, so two breakers cannot both remove a fresh one).
 * Returns true when it was broken (the caller tries again at once).
 */
function breakIfStale(lock: string): boolean {
  try {
    const text = readFileSync(lock, 'utf8').trim();
    const pid = /^\d+$/.test(text) ? Number(text) : NaN;
    const age = Date.now() - statSync(lock).mtimeMs;
    const dead = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid);
    const ancient = age > 10 * 60_000;
    // an owner writes its pid right after creating the file: a lock still without one seconds later is debris
    const ownerless = !(Number.isInteger(pid) && pid > 0) && age > 5_000;
    if (!dead && !ancient && !ownerless) return false;
    const grave = join(dirname(lock), `.stale-lock.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      renameSync(lock, grave);
      rmSync(grave, { force: true });
    } catch { /* someone else broke it */ }
    return true;
  } catch {
    return false; // vanished or being written: retry
  }
}

function tryLock(lock: string): boolean {
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Runs `fn` holding `<file>.lock`; waits with backoff while a live process holds it. LockTimeoutError after `timeoutMs`. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const lock = `${file}.lock`;
  const start = Date.now();
  for (let delay = 5; !tryLock(lock); delay = Math.min(delay * 2, 100)) {
    if (breakIfStale(lock)) continue;
    if (Date.now() - start > timeoutMs) throw new LockTimeoutError(lock);
    await new Promise((r) => setTimeout(r, delay));
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** withFileLock for short synchronous read-modify-write cycles (small config files): the wait blocks. */
export function withFileLockSync<T>(file: string, fn: () => T, timeoutMs = 30_000): T {
  const lock = `${file}.lock`;
  const start = Date.now();
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let delay = 5; !tryLock(lock); delay = Math.min(delay * 2, 100)) {
    if (breakIfStale(lock)) continue;
    if (Date.now() - start > timeoutMs) throw new LockTimeoutError(lock);
    Atomics.wait(cell, 0, 0, delay);
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Keys, certificates, chains and PKCS#12 files are kilobytes: reading one stops at 16 MiB (readInputFile). */
export const MAX_KEY_FILE_BYTES = 16 << 20;

/** A file the user named was bigger than its kind of file can be (readInputFile). */
export class InputTooLargeError extends Error {
  constructor(readonly file: string, readonly maxBytes: number) {
    super(`${file} is larger than ${maxBytes} bytes`);
  }
}

/**
 * Reads a file the user named (a certificate, a key, a policy) but no more than `maxBytes`: /dev/zero, a FIFO or
 * a disk image given by mistake ends in a clear error instead of filling memory. Errno errors pass through.
 */
export function readInputFile(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new InputTooLargeError(file, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}
