/**
 * stdout / stderr for the CLI's own lines, written with fs.writeSync on fd 1 / 2 instead of process.stdout /
 * process.stderr: node builds those streams on first use (a pipe, tty or file stream: ~2-3 ms each, measured on the
 * 2-core dev box), which every run that prints would pay. Same bytes, same order: node's stdio streams are
 * synchronous for files, pipes and ttys on POSIX too.
 *
 * Fallback to the streams (for the rest of the run, so the order holds): the fd is non-blocking and full (EAGAIN),
 * or the platform is Windows. A closed pipe (EPIPE, `docker sign ls | head`) ends the run quietly, as a shell tool
 * does.
 */
import type * as Fs from 'node:fs';

const fs = process.getBuiltinModule('node:fs') as typeof Fs;
let useStreams = process.platform === 'win32';

function write(fd: 1 | 2, text: string): void {
  let rest: string | Buffer = text;
  if (!useStreams) {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (code !== 'EAGAIN') throw e;
      useStreams = true;
      quietOnClosedStdout();
      rest = buf.subarray(off);
    }
  }
  (fd === 1 ? process.stdout : process.stderr).write(rest);
}

/** For output through process.stdout (oclif, or after the fallback): a closed pipe ends the run quietly. */
let quiet = false;
export function quietOnClosedStdout(): void {
  if (quiet) return;
  quiet = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
}

export function writeStdout(text: string): void {
  write(1, text);
}

export function writeStderr(text: string): void {
  write(2, text);
}
