/**
 * `DOCKER_HOST=ssh://[USER@]HOST[:PORT]` the way the docker CLI does it (docker/cli cli/connhelper): every connection
 * is the system `ssh` client running `docker system dial-stdio` on the remote host, its stdin/stdout carrying the
 * HTTP of the engine API. So whatever makes `docker -H ssh://…` work for the user (keys in ~/.ssh, ~/.ssh/config,
 * known_hosts, an agent, ProxyJump) works the same here, and nothing is trusted that docker would not trust.
 *
 * The ssh arguments follow docker's: `-o ConnectTimeout=30 -T [-l USER] [-p PORT] -- HOST docker system dial-stdio`
 * (a path in the URL is refused, as docker does). A connection that ends before the engine answered is an error
 * carrying what ssh printed on stderr (code ESSH), e.g. "Permission denied (publickey)".
 */
import type { ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type * as Http from 'node:http';
import { EngineError } from './engine.js';

export interface SshTarget {
  host: string;
  port?: string;
  user?: string;
}

/** The parts of an ssh:// docker host. */
export function parseSshHost(host: string): SshTarget {
  let u: URL;
  try {
    u = new URL(host);
  } catch {
    throw new EngineError('INVALID_DOCKER_HOST', `invalid docker host "${host}"`, { hint: 'use ssh://[USER@]HOST[:PORT]' });
  }
  if (u.protocol !== 'ssh:' || !u.hostname || u.hostname.startsWith('-') || u.username.startsWith('-')) throw new EngineError('INVALID_DOCKER_HOST', `invalid docker host "${host}"`, { hint: 'use ssh://[USER@]HOST[:PORT]' });
  if (u.pathname && u.pathname !== '/') throw new EngineError('INVALID_DOCKER_HOST', `extra path after the host in "${host}"`, { hint: 'use ssh://[USER@]HOST[:PORT]' });
  if (u.password) throw new EngineError('INVALID_DOCKER_HOST', `a password in "${host}" is not supported (ssh asks for it, or use a key)`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), ...(u.port ? { port: u.port } : {}), ...(u.username ? { user: decodeURIComponent(u.username) } : {}) };
}

/** The ssh command line docker runs for `t`. */
export function sshArgs(t: SshTarget): string[] {
  return ['-o', 'ConnectTimeout=30', '-T', ...(t.user ? ['-l', t.user] : []), ...(t.port ? ['-p', t.port] : []), '--', t.host, 'docker', 'system', 'dial-stdio'];
}

/**
 * One connection to the remote engine: a Duplex over `ssh … docker system dial-stdio`. Its only errors come from ssh
 * ending: a write to an ssh that has gone (EPIPE) is dropped, and the readable side ends or fails only once ssh has
 * exited, so a failed connection is reported with ssh's own reason, never as a reset or a premature close.
 */
export function sshConnection(t: SshTarget, env: NodeJS.ProcessEnv = process.env): Duplex {
  const { spawn } = process.getBuiltinModule('node:child_process') as typeof import('node:child_process');
  const { Duplex: DuplexCtor } = process.getBuiltinModule('node:stream') as typeof import('node:stream');
  const child: ChildProcess = spawn('ssh', sshArgs(t), { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let first = '';
  const sock = new DuplexCtor({
    read() {
      child.stdout!.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (child.stdin!.destroyed || child.stdin!.writableEnded) return cb();
      child.stdin!.write(chunk, () => cb()); // a failed write means ssh is gone: its exit says why
    },
    final(cb) {
      child.stdin!.end();
      cb();
    },
    destroy(err, cb) {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      cb(err);
    },
  });
  child.stdin!.on('error', () => undefined);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => { if (stderr.length < 4096) stderr += c; });
  child.stdout!.on('data', (c: Buffer) => {
    if (first.length < 200) first += c.toString('latin1');
    if (!sock.push(c)) child.stdout!.pause();
  });
  const fail = (msg: string) => {
    if (!sock.destroyed) sock.destroy(Object.assign(new Error(msg), { code: 'ESSH' }));
  };
  child.on('error', (e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' ? 'ssh is not installed (docker needs it for ssh:// hosts too)' : `ssh: ${e.message}`));
  child.on('close', (code) => {
    if (code === 0 || first.startsWith('HTTP/')) sock.push(null);
    else fail(stderr.trim().split('\n').filter(Boolean).pop() ?? (first.trim() || `ssh exited with ${code}`));
  });
  // what node's http client may call on a socket beyond a Duplex
  const s = sock as Duplex & { setNoDelay?: () => void; setKeepAlive?: () => void; setTimeout?: () => void; ref?: () => void; unref?: () => void; remoteOutput?: () => string };
  s.setNoDelay = () => undefined;
  s.setKeepAlive = () => undefined;
  s.setTimeout = () => undefined;
  s.ref = () => undefined;
  s.unref = () => undefined;
  s.remoteOutput = () => first;
  return sock;
}

/** For an HTTP parse error on an ssh connection: what the remote end printed instead of the engine API. */
export function notEngineApi(sock: unknown): Error {
  const said = ((sock as { remoteOutput?: () => string } | undefined)?.remoteOutput?.() ?? '').split('\n')[0]!.trim();
  return Object.assign(new Error(`the remote end did not answer with the engine API${said ? ` (it printed "${said.slice(0, 120)}")` : ''}`), { code: 'ESSH' });
}

/** An http.Agent whose connections are ssh connections (for dockerode: every request gets its own). */
export function sshAgent(t: SshTarget, env: NodeJS.ProcessEnv = process.env): Http.Agent {
  const http = process.getBuiltinModule('node:http') as typeof Http;
  class SshAgent extends http.Agent {
    override createConnection(): Duplex {
      return sshConnection(t, env);
    }
  }
  return new SshAgent({ keepAlive: false });
}
