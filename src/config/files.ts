/**
 * Replacing a file the user owns (an rc file, docker's config.json, dockerd's daemon.json, a plug-in spec) without
 * losing what it was: written atomically (temp file beside it, then rename), through a symlink (a dotfiles manager's
 * ~/.bashrc -> ~/dotfiles/bashrc, a daemon.json kept by configuration management stays a link), with its mode, and
 * with its owner when we run as root. `mode` applies to a file that does not exist yet.
 */
import { chmodSync, chownSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mkdirsSync } from './mkdir.js';

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
