import { expect } from 'chai';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeAuthzPlugin, updateDaemonJson, needsSpecFile, writeSpecFile, daemonJsonEnables } from '../../plugins/guard/install.js';
import { loadGuardConfig, parseDuration } from '../../plugins/guard/config.js';
import { runGuard } from '../../plugins/guard/main.js';
import { probeGuard } from '../../plugins/guard/client.js';
import { configPaths } from '../../src/config/dir.js';

describe('guard: install helpers and config', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ds-guard-inst-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('daemon.json: adds the plug-in, keeps every other key and existing plug-ins, writes a backup', () => {
    const f = join(dir, 'daemon.json');
    writeFileSync(f, JSON.stringify({ debug: true, 'insecure-registries': ['r:5000'], 'authorization-plugins': ['other'] }));
    chmodSync(f, 0o640);
    const r = updateDaemonJson(f, 'docker-sign');
    expect(r.changed).to.equal(true);
    expect(JSON.parse(readFileSync(f, 'utf8'))).to.deep.equal({ debug: true, 'insecure-registries': ['r:5000'], 'authorization-plugins': ['other', 'docker-sign'] });
    expect(JSON.parse(readFileSync(`${f}.bak`, 'utf8'))['authorization-plugins']).to.deep.equal(['other']);
    expect(statSync(f).mode & 0o777).to.equal(0o640);
    expect(updateDaemonJson(f, 'docker-sign').changed).to.equal(false);
    expect(daemonJsonEnables(f, 'docker-sign')).to.equal(true);
    updateDaemonJson(f, 'docker-sign', true);
    expect(JSON.parse(readFileSync(f, 'utf8'))['authorization-plugins']).to.deep.equal(['other']);
  });

  it('daemon.json kept by configuration management as a symlink stays a link; the file it points to is updated', () => {
    const real = join(dir, 'managed-daemon.json');
    writeFileSync(real, JSON.stringify({ debug: true }));
    chmodSync(real, 0o600);
    const f = join(dir, 'daemon.json');
    symlinkSync(real, f);
    updateDaemonJson(f, 'docker-sign');
    expect(lstatSync(f).isSymbolicLink()).to.equal(true);
    expect(JSON.parse(readFileSync(real, 'utf8'))).to.deep.equal({ debug: true, 'authorization-plugins': ['docker-sign'] });
    expect(statSync(real).mode & 0o777).to.equal(0o600);
  });

  it('daemon.json: missing file is created; invalid JSON or a non-array setting is refused untouched', () => {
    const f = join(dir, 'new', 'daemon.json');
    updateDaemonJson(f, 'g');
    expect(JSON.parse(readFileSync(f, 'utf8'))).to.deep.equal({ 'authorization-plugins': ['g'] });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "debug": true,');
    expect(() => updateDaemonJson(bad, 'g')).to.throw(/not valid JSON/);
    expect(readFileSync(bad, 'utf8')).to.equal('{ "debug": true,');
    expect(() => mergeAuthzPlugin({ 'authorization-plugins': 'g' }, 'g')).to.throw(/array/);
    const { config } = mergeAuthzPlugin({ 'authorization-plugins': ['g'] }, 'g', true);
    expect(config).to.deep.equal({});
  });

  it('spec file only for sockets outside /run/docker/plugins', () => {
    expect(needsSpecFile('docker-sign', '/run/docker/plugins/docker-sign.sock')).to.equal(false);
    expect(needsSpecFile('docker-sign', '/var/run/ds/g.sock')).to.equal(true);
    const f = writeSpecFile(join(dir, 'plugins'), 'docker-sign', '/var/run/ds/g.sock');
    expect(readFileSync(f, 'utf8')).to.equal('unix:///var/run/ds/g.sock\n');
  });

  it('guard config: defaults, file values, overrides, and refusal of bad values', () => {
    const paths = configPaths(dir);
    const d = loadGuardConfig(paths, {}, {});
    expect(d).to.include({ name: 'docker-sign', socket: '/run/docker/plugins/docker-sign.sock', timeoutMs: 10_000, onBuild: 'allow', dockerHost: 'unix:///var/run/docker.sock' });
    expect(d.auditLog).to.equal(join(dir, 'guard', 'audit.log'));
    mkdirSync(join(dir, 'guard'), { recursive: true });
    writeFileSync(join(dir, 'guard', 'config.json'), JSON.stringify({ name: 'g2', timeoutMs: 500, onBuild: 'deny', registries: { 'r:5000': { username: 'u', password: 'p' } } }));
    const c = loadGuardConfig(paths, { timeoutMs: 42 }, {});
    expect(c).to.include({ name: 'g2', socket: '/run/docker/plugins/g2.sock', timeoutMs: 42, onBuild: 'deny' });
    expect(c.registries['r:5000']).to.deep.equal({ username: 'u', password: 'p' });
    writeFileSync(join(dir, 'guard', 'config.json'), JSON.stringify({ onLoad: 'maybe' }));
    expect(() => loadGuardConfig(paths)).to.throw(/onLoad/);
    writeFileSync(join(dir, 'guard', 'config.json'), '{');
    expect(() => loadGuardConfig(paths)).to.throw(/not valid JSON/);
    expect(parseDuration('10s')).to.equal(10_000);
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('2m')).to.equal(120_000);
    expect(() => parseDuration('soon')).to.throw(/invalid duration/);
  });

  it('runGuard: serves the socket, answers activation, SIGTERM stops it and removes the socket', async () => {
    const paths = configPaths(dir);
    const socket = join(dir, 'g.sock');
    const before = process.listenerCount('SIGTERM');
    const g = await runGuard({
      paths,
      overrides: { socket, auditLog: '' },
      log: () => undefined,
      registry: { resolveTag: async () => { throw new Error('x'); }, configDigests: async () => [] },
      verifier: { verifyRemote: async (r) => ({ verified: false, digest: r }), verifyLocal: async () => null },
    });
    const p = await probeGuard(socket);
    expect(p).to.include({ reachable: true, implementsAuthz: true });
    expect(p.stats).to.have.property('requests');
    process.emit('SIGTERM');
    await g.closed;
    expect(existsSync(socket)).to.equal(false);
    expect(process.listenerCount('SIGTERM')).to.equal(before);
  });
});
