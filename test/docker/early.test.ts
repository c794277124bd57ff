import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEarlyForPush } from '../../src/cli/early.js';
import { dropEarlyGets, takeEarlyGet } from '../../src/docker/early.js';
import { inspectImage } from '../../src/docker/engine.js';

/**
 * The push's engine requests sent by the CLI entry before the push code loads (src/cli/early.ts): against a stand-in
 * engine on a unix socket that records what it is asked.
 */
describe('docker: engine requests started early for a push', () => {
  let dir: string;
  let sock: string;
  let server: Server;
  let seen: string[];
  const IMAGE = 'registry.example:5000/team/app:v1';
  const inspectPath = `/images/${encodeURIComponent(IMAGE)}/json`;
  const savePath = `/images/get?names=${encodeURIComponent(IMAGE)}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-early-'));
    sock = join(dir, 'docker.sock');
    server = createServer((req, res) => {
      seen.push(req.url!);
      if (req.url === inspectPath) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ Id: `sha256:${'a'.repeat(64)}`, RepoTags: [IMAGE], RepoDigests: [], RootFS: { Type: 'layers', Layers: [] }, Os: 'linux', Architecture: 'amd64' }));
      } else {
        res.setHeader('content-type', 'application/x-tar');
        res.write(Buffer.alloc(512)); // a save stream that stays open: dropping it must not hang anything
      }
    });
    await new Promise<void>((r) => server.listen(sock, r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = [];
  });
  afterEach(() => dropEarlyGets());

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'docker-config'), HOME: dir, DOCKER_SIGN_CONFIG: join(dir, 'cfg'), ...extra,
  });
  const settle = () => new Promise((r) => setTimeout(r, 50));

  it('a plain push of a name the store does not hold: inspect and save are sent at once, and engine.ts takes them instead of asking again', async () => {
    await startEarlyForPush(['-q', IMAGE], env());
    await settle();
    expect(seen.sort()).to.deep.equal([savePath, inspectPath].sort());
    const info = await inspectImage(IMAGE, env());
    expect(info.Id).to.equal(`sha256:${'a'.repeat(64)}`);
    await settle();
    expect(seen.filter((u) => u === inspectPath)).to.have.length(1); // answered by the early request
    expect(takeEarlyGet(sock, inspectPath)).to.equal(undefined); // taken once
    expect(takeEarlyGet(sock, savePath)).to.not.equal(undefined);
  });

  it('nothing is sent when the store already names the image, for an image ID, a tcp:// engine, or argv that is not a plain push', async () => {
    mkdirSync(join(dir, 'cfg', 'store'), { recursive: true });
    writeFileSync(join(dir, 'cfg', 'store', 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ annotations: { 'org.opencontainers.image.ref.name': IMAGE } }] }));
    await startEarlyForPush([IMAGE], env());
    rmSync(join(dir, 'cfg'), { recursive: true, force: true });
    await startEarlyForPush(['0123456789ab'], env());
    await startEarlyForPush([IMAGE], env({ DOCKER_HOST: 'tcp://127.0.0.1:1' }));
    await startEarlyForPush(['--no-such-flag', IMAGE], env());
    await startEarlyForPush([], env());
    await settle();
    expect(seen).to.deep.equal([]);
  });

  it('answers nobody took are closed by dropEarlyGets (an open save stream does not keep the process alive)', async () => {
    const saveClosed = new Promise<void>((resolve) => {
      server.once('request', function onRequest(req) {
        if (req.url === savePath) req.socket.on('close', () => resolve());
        else server.once('request', onRequest);
      });
    });
    await startEarlyForPush([IMAGE], env());
    await settle();
    expect(seen).to.include(savePath);
    dropEarlyGets();
    await saveClosed; // the engine side sees the stream's socket closed
    expect(takeEarlyGet(sock, savePath)).to.equal(undefined);
    expect(takeEarlyGet(sock, inspectPath)).to.equal(undefined);
  });
});
