import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { closeConnections, openRepository } from '../../src/registry/index.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import type { Digest } from '../../src/oci/digest.js';

/**
 * RemoteRepository.withSignal: a caller with a deadline (the guard) gets its registry requests cancelled, and their
 * connections closed, when its signal aborts, however long the client's own request timeout is.
 */
describe('registry: requests cancelled through an AbortSignal (withSignal)', () => {
  let server: Server;
  let port: number;
  const sockets: { socket: Socket; request: string; closedAt?: number }[] = [];

  before(async () => {
    // accepts and reads requests, never answers; notes when the client hangs up
    server = createServer((socket) => {
      const entry: (typeof sockets)[number] = { socket, request: '' };
      sockets.push(entry);
      socket.on('data', (d) => { entry.request ||= d.toString('latin1').split('\r\n')[0]!; });
      socket.on('end', () => { entry.closedAt = performance.now(); socket.destroy(); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await closeConnections();
    for (const s of sockets) s.socket.destroy();
    server.close();
  });

  it('an abort rejects the pending request at once and closes its connection; other users of the repository are unaffected', async () => {
    const repo = openRepository(`127.0.0.1:${port}/slow/app`, { timeoutMs: 60_000 });
    const ac = new AbortController();
    const t0 = performance.now();
    const pending = repo.withSignal(ac.signal).resolve('v1').catch((e: unknown) => e);
    const other = repo.resolve('v2').catch((e: unknown) => e); // same client, no signal
    setTimeout(() => ac.abort(new Error('deadline')), 200);
    const e = await pending;
    const abortedAt = performance.now();
    expect(e).to.have.property('code', 'NETWORK');
    expect(abortedAt - t0).to.be.lessThan(2_000);
    for (let i = 0; i < 20 && !sockets.find((s) => s.request.includes('/manifests/v1'))?.closedAt; i++) await new Promise((r) => setTimeout(r, 25));
    const v1 = sockets.find((s) => s.request.includes('/manifests/v1'));
    expect(v1, sockets.map((s) => s.request).join(', ')).to.not.equal(undefined);
    expect(v1!.closedAt, 'the aborted request\'s connection was closed').to.be.a('number');
    expect(v1!.closedAt! - abortedAt).to.be.lessThan(500);
    // the request without the signal is still waiting on its own connection
    const v2 = sockets.find((s) => s.request.includes('/manifests/v2'));
    expect(v2?.closedAt).to.equal(undefined);
    await closeConnections(); // ends it
    expect(await other).to.have.property('code', 'NETWORK');
  });

  it('a signal aborted before the call: nothing is sent', async () => {
    const before = sockets.length;
    const e = await openRepository(`127.0.0.1:${port}/slow/app`).withSignal(AbortSignal.abort(new Error('late'))).resolve('v3').catch((x: unknown) => x);
    expect(e).to.have.property('code', 'NETWORK');
    await new Promise((r) => setTimeout(r, 100));
    expect(sockets.slice(before).map((s) => s.request).filter((r) => r.includes('/manifests/v3'))).to.deep.equal([]);
  });

  it('a view shares what the repository learnt: no Referrers API found through a view is not asked again through the repository', async () => {
    const seen: string[] = [];
    const registry = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url!.split('?')[0]}`);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', () => r()));
    try {
      const repo = openRepository(`127.0.0.1:${(registry.address() as { port: number }).port}/app`);
      const subject: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}` as Digest, size: 2 };
      expect(await repo.withSignal(new AbortController().signal).referrers(subject)).to.deep.equal([]);
      expect(seen.filter((l) => l.includes('/referrers/'))).to.have.length(1);
      seen.length = 0;
      expect(await repo.referrers(subject)).to.deep.equal([]);
      expect(seen.filter((l) => l.includes('/referrers/'))).to.deep.equal([]); // learnt through the view
      expect(seen).to.deep.equal([`GET /v2/app/manifests/sha256-${'a'.repeat(64)}`]);
    } finally {
      registry.close();
    }
  });
});
