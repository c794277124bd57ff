import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A forward proxy for the tests: CONNECT tunnels (https registries) and absolute-form requests (plain http), with
 * optional Basic authentication. Host names ending in `.ds-proxy.test` exist only here (they resolve to 127.0.0.1
 * inside the proxy), so a request that reaches such a server went through the proxy.
 */
export interface Proxy { url: string; log: string[]; auth?: string; close(): Promise<void> }

export async function startProxy(): Promise<Proxy> {
  const p: Proxy = { url: '', log: [], close: async () => undefined };
  const target = (host: string) => (host.endsWith('.ds-proxy.test') ? '127.0.0.1' : host);
  const allowed = (req: IncomingMessage) => !p.auth || req.headers['proxy-authorization'] === `Basic ${Buffer.from(p.auth).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    p.log.push(`${req.method} ${req.url}`);
    if (!allowed(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-length': '0' });
      res.end();
      return;
    }
    const u = new URL(req.url!);
    const up = httpRequest({ host: target(u.hostname), port: u.port || 80, method: req.method, path: u.pathname + u.search, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  const sockets = new Set<Socket>();
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    p.log.push(`CONNECT ${req.url}`);
    sockets.add(client);
    if (!allowed(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
    const up = connect(port, target(host), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.close = () => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
    server.close(() => r());
  });
  return p;
}

