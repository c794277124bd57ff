/**
 * What a command prints and how errors end a command, without oclif: used by BaseCommand (src/commands/base.ts)
 * and by the fast path (src/cli/fast.ts), so both print the same bytes and exit with the same codes.
 */
import { configPaths, type ConfigPaths } from '../config/dir.js';
import { DockerSignError, EXIT } from '../errors.js';
import type { CommonFlags } from './spec.js';
import { writeStderr, writeStdout } from './out.js';

/** The output side of a command run: -o json or text, the config paths, stdout/stderr writers. */
export interface CommandIO {
  readonly json: boolean;
  readonly paths: ConfigPaths;
  /** Prints `data` as JSON with -o json, else the text from `text()` (a newline is added if missing). */
  emit(data: unknown, text: () => string): void;
  /** Progress/info lines go to stderr so stdout stays machine-readable. */
  info(msg: string): void;
}

export function emitOutput(json: boolean, data: unknown, text: () => string): void {
  if (json) writeStdout(JSON.stringify(data, null, 2) + '\n');
  else {
    // text output shows what registries, signers and files say (subjects, user metadata, agents): never raw
    // control characters (see printable)
    const t = printable(text());
    if (t.length > 0) writeStdout(t.endsWith('\n') ? t : t + '\n');
  }
}

export function writeInfo(msg: string): void {
  writeStderr(printable(msg) + '\n');
}

/** The CommandIO for the common flags (--config-dir, -o). */
export function createIO(common: Partial<CommonFlags>): CommandIO {
  const json = common.output === 'json';
  const dir = common['config-dir'];
  let paths: ConfigPaths | undefined;
  return {
    json,
    get paths() {
      return (paths ??= configPaths(dir));
    },
    emit: (data, text) => emitOutput(json, data, text),
    info: writeInfo,
  };
}

/**
 * `text` with terminal control characters shown as escapes (\x1b…): error messages carry text from registries,
 * engines and files, which must not move the cursor, clear the screen or forge lines on the user's terminal.
 * Newlines and tabs stay.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Reports an error that ended a command and sets the exit code: a DockerSignError prints "Error: <message>"
 * (+ "Hint: …") on stderr (and its JSON form on stdout with -o json) and exits with its exit code; anything else is
 * a one-line internal error (stack only with DOCKER_SIGN_DEBUG=1), exit 70. oclif's own usage errors never get
 * here (BaseCommand hands them back to oclif).
 */
export function reportCommandError(err: unknown, json: boolean): void {
  if (err instanceof DockerSignError) {
    if (json) writeStdout(JSON.stringify(err.toJSON(), null, 2) + '\n');
    writeStderr(`Error: ${printable(err.message)}\n`);
    if (err.hint) writeStderr(`Hint: ${printable(err.hint)}\n`);
    if (process.env.DOCKER_SIGN_DEBUG && err.stack) writeStderr(err.stack + '\n');
    process.exitCode = err.exitCode;
    return;
  }
  const fsErr = fileSystemError(err);
  if (fsErr) return reportCommandError(fsErr, json);
  const e = err as Error | undefined;
  if (json) writeStdout(JSON.stringify({ error: 'INTERNAL', message: `internal error: ${e?.message ?? String(err)}` }, null, 2) + '\n');
  writeStderr(`Error: internal error: ${printable(e?.message ?? String(err))}\n`);
  writeStderr(
    process.env.DOCKER_SIGN_DEBUG ? `${e?.stack ?? ''}\n` : 'Hint: this is a bug in docker-sign; rerun with DOCKER_SIGN_DEBUG=1 for details\n',
  );
  process.exitCode = EXIT.INTERNAL;
}

const FS_HINTS: Record<string, string> = {
  EACCES: 'check the permissions on that path, or choose another config directory (--config-dir / DOCKER_SIGN_CONFIG)',
  EPERM: 'check the permissions on that path, or choose another config directory (--config-dir / DOCKER_SIGN_CONFIG)',
  EROFS: 'that file system is read-only: choose another config directory (--config-dir / DOCKER_SIGN_CONFIG)',
  ENOSPC: 'the disk is full: free some space (`docker sign store prune` removes what the local store no longer needs)',
  EDQUOT: 'the disk quota is exhausted: free some space (`docker sign store prune` removes what the local store no longer needs)',
};

/** System calls on an open file descriptor: their errors name no path but are the file system's. */
const FD_SYSCALLS = new Set(['read', 'write', 'writev', 'pread', 'pwrite', 'fsync', 'fdatasync', 'ftruncate', 'fstat', 'close', 'fchmod', 'fchown', 'futime', 'scandir']);

/**
 * A local file-system failure that reached the top (an errno error naming a path: ENOENT, EACCES, ENOSPC, …) is the
 * machine's state, not a bug: it becomes FILE_SYSTEM_ERROR (exit 2) saying which operation on which path failed.
 */
export function fileSystemError(err: unknown): DockerSignError | undefined {
  const e = err as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  if (!(e instanceof Error) || typeof e.code !== 'string' || typeof e.syscall !== 'string') return undefined;
  if (!/^E[A-Z]+$/.test(e.code)) return undefined;
  // Reads and writes on an open file (EISDIR, ENOSPC…) carry no path; the syscall says it was the file system.
  if (typeof e.path !== 'string' && !FD_SYSCALLS.has(e.syscall)) return undefined;
  const reason = e.message.replace(/^E[A-Z]+: /, '').replace(/, \w+(?: '.*')?$/, '');
  const what = typeof e.path === 'string' ? `${e.syscall} '${e.path}'${e.dest ? ` → '${e.dest}'` : ''}` : `${e.syscall} a file`;
  return new DockerSignError('FILE_SYSTEM_ERROR', `cannot ${what}: ${reason} (${e.code})`, {
    exitCode: EXIT.USAGE,
    cause: e,
    hint: FS_HINTS[e.code] ?? 'check that the path exists and is a directory or file as expected',
  });
}

/** docker's size notation (decimal units, up to 4 significant digits): 0B, 512B, 1.5kB, 431.2MB, 1.234GB. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${Number(v.toPrecision(4))}${units[u]}`;
}

/** `n` and the noun in the number it takes: counted(1, 'blob') = "1 blob", counted(2, 'entry', 'entries') = "2 entries". */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
