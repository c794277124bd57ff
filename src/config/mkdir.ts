/**
 * `mkdir -p`, for every directory docker-sign creates (config dir, store, trust store, keys, guard socket and
 * spec, plug-in dirs, caches).
 *
 * Not node's `mkdir(p, { recursive: true })`: node 20's spins forever at 100% CPU when mkdir(2) fails with ENOENT
 * although the parent exists, which is what procfs answers (`--config-dir /proc/x`, `--socket /proc/x/g.sock`):
 * it creates the parent (EEXIST), retries the child (ENOENT) and loops. Here each level is made once, parents
 * first, and the child's second failure is thrown. Like node's, `mode` applies to every directory made, and an
 * existing directory (also one made concurrently by another process) is fine.
 */
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';

// builtins through getBuiltinModule: this sits on the start-up path of the CLI (code cache dir)
const fs = process.getBuiltinModule('node:fs') as typeof Fs;
const path = process.getBuiltinModule('node:path') as typeof Path;

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** Creates `dir` and its missing parents (synchronous). */
export function mkdirsSync(dir: string, mode?: number): void {
  const opts = mode === undefined ? {} : { mode };
  try {
    fs.mkdirSync(dir, opts);
    return;
  } catch (e) {
    if (code(e) === 'EEXIST') {
      if (isDir(dir)) return;
      throw notADirectory(dir);
    }
    if (code(e) !== 'ENOENT') throw e;
  }
  const parent = path.dirname(dir);
  if (parent === dir) throw Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${dir}'`), { code: 'ENOENT', path: dir });
  mkdirsSync(parent, mode);
  try {
    fs.mkdirSync(dir, opts);
  } catch (e) {
    if (code(e) !== 'EEXIST') throw e;
    if (!isDir(dir)) throw notADirectory(dir);
  }
}

/** A file where a directory is wanted: said as such (mkdir(2) says EEXIST, which reads as "nothing to do"). */
function notADirectory(dir: string): Error {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', errno: -20, syscall: 'mkdir', path: dir });
}

/** Creates `dir` and its missing parents (a few mkdir/stat calls on the local disk: done synchronously). */
export async function mkdirs(dir: string, mode?: number): Promise<void> {
  mkdirsSync(dir, mode);
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
