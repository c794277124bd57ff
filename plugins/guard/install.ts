import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { mkdirsSync } from '../../src/config/mkdir.js';
import { readJsonObjectFile, replaceFile } from '../../src/config/files.js';

/**
 * What dockerd needs to use the guard:
 *  - discovery: the socket at /run/docker/plugins/<name>.sock is found by name; a socket elsewhere needs a spec
 *    file /etc/docker/plugins/<name>.spec containing `unix://<socket>`;
 *  - enabling: daemon.json "authorization-plugins": ["<name>"] + SIGHUP (hot reload), or the dockerd flag
 *    --authorization-plugin=<name> (not both: dockerd refuses a setting given twice).
 * daemon.json edits keep every other key: parse, merge, back up, write atomically (temp file + rename).
 */
export const DEFAULT_PLUGINS_DIR = '/run/docker/plugins';
export const DEFAULT_SPEC_DIR = '/etc/docker/plugins';
export const DEFAULT_DAEMON_JSON = '/etc/docker/daemon.json';
export const DEFAULT_DOCKERD_PIDFILE = '/var/run/docker.pid';

export function needsSpecFile(name: string, socket: string): boolean {
  return socket !== join(DEFAULT_PLUGINS_DIR, `${name}.sock`);
}

export function writeSpecFile(specDir: string, name: string, socket: string): string {
  mkdirsSync(specDir);
  const file = join(specDir, `${name}.spec`);
  replaceFile(file, `unix://${socket}\n`);
  return file;
}

export function readDaemonJson(file: string): Record<string, unknown> {
  return readJsonObjectFile(file, 'DAEMON_JSON_INVALID');
}

/** Returns daemon.json with `name` added to (or, with remove, taken out of) "authorization-plugins". */
export function mergeAuthzPlugin(cfg: Record<string, unknown>, name: string, remove = false): { config: Record<string, unknown>; changed: boolean } {
  const cur = cfg['authorization-plugins'];
  if (cur !== undefined && (!Array.isArray(cur) || !cur.every((x) => typeof x === 'string'))) {
    throw new ConfigError('DAEMON_JSON_INVALID', '"authorization-plugins" in daemon.json must be an array of names', { hint: 'fix the file first; it was not changed' });
  }
  const list = [...((cur as string[] | undefined) ?? [])];
  const has = list.includes(name);
  if (remove) {
    if (!has) return { config: cfg, changed: false };
    const rest = list.filter((x) => x !== name);
    const out = { ...cfg };
    if (rest.length) out['authorization-plugins'] = rest;
    else delete out['authorization-plugins'];
    return { config: out, changed: true };
  }
  if (has) return { config: cfg, changed: false };
  return { config: { ...cfg, 'authorization-plugins': [...list, name] }, changed: true };
}

/** Writes the merged daemon.json atomically, after copying the old one to `<file>.bak` (returned). */
export function updateDaemonJson(file: string, name: string, remove = false): { changed: boolean; backup?: string; config: Record<string, unknown> } {
  const before = readDaemonJson(file);
  const { config, changed } = mergeAuthzPlugin(before, name, remove);
  if (!changed) return { changed, config };
  let backup: string | undefined;
  if (existsSync(file)) {
    backup = `${file}.bak`;
    copyFileSync(file, backup);
  }
  replaceFile(file, JSON.stringify(config, null, 2) + '\n');
  return { changed, backup, config };
}

export function daemonJsonEnables(file: string, name: string): boolean | undefined {
  try {
    const v = readDaemonJson(file);
    const l = v['authorization-plugins'];
    return Array.isArray(l) && l.includes(name);
  } catch {
    return undefined;
  }
}

/** Sends SIGHUP to dockerd (pid from its pidfile): it re-reads daemon.json, incl. authorization-plugins. */
export function reloadDockerd(pidfile: string): number {
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  } catch (e) {
    throw new ConfigError('DOCKERD_PID', `cannot read dockerd's pid file ${pidfile}: ${(e as Error).message}`, { hint: 'pass --pidfile, or send SIGHUP to dockerd yourself' });
  }
  if (!Number.isInteger(pid) || pid <= 1) throw new ConfigError('DOCKERD_PID', `${pidfile} holds no pid`, { hint: 'pass --pidfile' });
  process.kill(pid, 'SIGHUP');
  return pid;
}

export function removeFile(file: string): boolean {
  if (!existsSync(file)) return false;
  rmSync(file, { force: true });
  return true;
}
