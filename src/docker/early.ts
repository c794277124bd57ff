/**
 * Engine GET requests started before a command's code is loaded. `docker sign push IMAGE` of an image not generated
 * yet needs the image's `docker save` stream, and dockerd 20.10 takes ~10 ms before its first byte (it exports the
 * image to a temporary folder first); loading the push bundle takes about as long. So the CLI entry asks for it
 * (and for the inspect) at once (src/cli/early.ts), and engine.ts's rawRequest takes the answer instead of sending
 * the same request again: same unix socket, same method and path, once.
 *
 * Kept on globalThis: the CLI entry (dist/cli.cjs) and the command bundle (dist/fast/push.cjs) each hold their own
 * copy of this module. Answers nobody took are dropped when the command ends (dropEarlyGets), so an unused save
 * stream does not keep the process alive.
 */
import type { IncomingMessage } from 'node:http';
import type * as Http from 'node:http';
import type * as Net from 'node:net';

const KEY = Symbol.for('docker-sign.earlyEngineGets');
type Pending = Map<string, Promise<IncomingMessage>>;

function pending(): Pending {
  const g = globalThis as typeof globalThis & { [KEY]?: Pending };
  return (g[KEY] ??= new Map());
}

const keyOf = (socketPath: string, path: string) => `${socketPath}\0${path}`;

/**
 * Sends GET `path` to the engine on `socketPath`; the answer waits for takeEarlyGet. Resolves once the request is
 * written (or failed): the caller must let that happen before it blocks the event loop (loading a bundle), or the
 * request would leave only after.
 */
export function startEarlyGet(socketPath: string, path: string): Promise<void> {
  const http = process.getBuiltinModule('node:http') as typeof Http;
  const net = process.getBuiltinModule('node:net') as typeof Net;
  let sent!: () => void;
  const written = new Promise<void>((r) => { sent = r; });
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    const req = http.request({
      method: 'GET', path, headers: { host: 'docker', 'user-agent': 'docker-sign' }, socketPath,
      createConnection: () => net.connect({ path: socketPath }),
    }, resolve);
    req.on('finish', sent);
    req.on('error', (e) => {
      sent();
      reject(e);
    });
    req.end();
  });
  answer.catch(() => undefined); // whoever takes it sees the error
  pending().set(keyOf(socketPath, path), answer);
  return written;
}

/** The answer to an early GET of `path` on `socketPath`, if one was started and not taken yet. */
export function takeEarlyGet(socketPath: string, path: string): Promise<IncomingMessage> | undefined {
  const p = pending();
  const k = keyOf(socketPath, path);
  const answer = p.get(k);
  if (answer) p.delete(k);
  return answer;
}

/** Closes the answers nobody took (the engine stops a save stream when its socket closes). */
export function dropEarlyGets(): void {
  const p = pending();
  for (const answer of p.values()) answer.then((res) => res.destroy(), () => undefined);
  p.clear();
}
