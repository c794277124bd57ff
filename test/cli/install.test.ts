import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, lstatSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { install, uninstall, packageRoot } from '../../plugins/cli/install.js';

const root = packageRoot();

describe('cli: docker sign install (files)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-cli-inst-'));
    mkdirSync(join(dir, 'home'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes executable shims that answer docker-cli-plugin-metadata', () => {
    const r = install({ dockerConfig: join(dir, 'dc'), home: join(dir, 'home') });
    expect(r.plugins.map((p) => p.name)).to.deep.equal(['sign', 'generate']);
    for (const p of r.plugins) {
      expect(lstatSync(p.path).mode & 0o111).to.not.equal(0);
      const out = spawnSync(p.path, ['docker-cli-plugin-metadata'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      expect(out.status, out.stderr).to.equal(0);
      const meta = JSON.parse(out.stdout);
      expect(meta.SchemaVersion).to.equal('0.1.0');
      expect(meta.Vendor).to.equal('docker-sign');
      expect(meta.ShortDescription).to.be.a('string').and.not.empty;
    }
  });

  it('the shims answer docker-cli-plugin-metadata without node, byte for byte what bin/*.js print', () => {
    // node path that cannot run: the metadata answer must not need it
    const r = install({ dockerConfig: join(dir, 'dc'), nodePath: join(dir, 'no-node') });
    for (const p of r.plugins) {
      const viaShim = spawnSync(p.path, ['docker-cli-plugin-metadata'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      const viaNode = spawnSync(process.execPath, [p.target, 'docker-cli-plugin-metadata'], { encoding: 'utf8' });
      expect(viaShim.status, viaShim.stderr).to.equal(0);
      expect(viaShim.stdout).to.equal(viaNode.stdout);
      expect(JSON.parse(viaShim.stdout).Version).to.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    }
  });

  it('the shims hand NODE_EXTRA_CA_CERTS over as DOCKER_SIGN_EXTRA_CA_CERTS, unless NODE_OPTIONS picks a CA store', () => {
    // a stand-in for node that prints what it was given
    const fake = join(dir, 'fake-node');
    writeFileSync(fake, '#!/bin/sh\nprintf \'%s|%s|%s\' "${NODE_EXTRA_CA_CERTS-unset}" "${DOCKER_SIGN_EXTRA_CA_CERTS-unset}" "$*"\n');
    chmodSync(fake, 0o755);
    const shim = install({ dockerConfig: join(dir, 'dc'), nodePath: fake }).plugins[0]!;
    const run = (env: Record<string, string>) => spawnSync(shim.path, ['sign', 'ls', 'a b'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } }).stdout;
    expect(run({ NODE_EXTRA_CA_CERTS: '/etc/x.pem' })).to.equal(`unset|/etc/x.pem|${shim.target} sign ls a b`);
    expect(run({})).to.equal(`unset|unset|${shim.target} sign ls a b`);
    expect(run({ NODE_EXTRA_CA_CERTS: '/etc/x.pem', NODE_OPTIONS: '--use-openssl-ca' })).to.equal(`/etc/x.pem|unset|${shim.target} sign ls a b`);
    expect(run({ NODE_EXTRA_CA_CERTS: '/etc/x.pem', NODE_OPTIONS: '--max-old-space-size=99 --use-system-ca' })).to.equal(`/etc/x.pem|unset|${shim.target} sign ls a b`);
    expect(run({ NODE_EXTRA_CA_CERTS: '/etc/x.pem', NODE_OPTIONS: '--max-old-space-size=99' })).to.equal(`unset|/etc/x.pem|${shim.target} sign ls a b`);
    // the metadata question with other words after it is not the metadata question: it goes to node
    expect(spawnSync(shim.path, ['docker-cli-plugin-metadata', 'x'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).stdout).to.equal(`unset|unset|${shim.target} docker-cli-plugin-metadata x`);
  });

  it('--symlink links to bin/*.js', () => {
    const r = install({ dockerConfig: join(dir, 'dc'), symlink: true });
    expect(lstatSync(r.plugins[0].path).isSymbolicLink()).to.equal(true);
    expect(r.plugins[0].target).to.equal(join(root, 'bin', 'docker-sign.js'));
  });

  it('refuses to overwrite a foreign plug-in without --force; reinstall over its own is fine', () => {
    mkdirSync(join(dir, 'dc', 'cli-plugins'), { recursive: true });
    writeFileSync(join(dir, 'dc', 'cli-plugins', 'docker-sign'), '#!/bin/sh\necho other\n');
    expect(() => install({ dockerConfig: join(dir, 'dc') })).to.throw(/not written by docker-sign/);
    install({ dockerConfig: join(dir, 'dc'), force: true });
    install({ dockerConfig: join(dir, 'dc') });
  });

  it('--shell: wrapper file + one rc line (idempotent), removed by uninstall', () => {
    const rc = join(dir, 'home', '.bashrc');
    writeFileSync(rc, 'export KEEP=1\n');
    install({ dockerConfig: join(dir, 'dc'), shell: true, rcFiles: [rc] });
    install({ dockerConfig: join(dir, 'dc'), shell: true, rcFiles: [rc] });
    const text = readFileSync(rc, 'utf8');
    expect(text.match(/docker-sign: docker push --sign wrapper/g)).to.have.length(1);
    expect(text).to.include('export KEEP=1');
    const u = uninstall({ dockerConfig: join(dir, 'dc'), rcFiles: [rc] });
    expect(u.rcFilesUpdated).to.deep.equal([rc]);
    expect(readFileSync(rc, 'utf8')).to.equal('export KEEP=1\n');
    expect(existsSync(join(dir, 'dc', 'docker-sign.sh'))).to.equal(false);
    expect(existsSync(join(dir, 'dc', 'cli-plugins', 'docker-sign'))).to.equal(false);
  });

  it('--shell keeps what the rc file was: a symlink stays a link (written through), mode and owner kept', () => {
    const real = join(dir, 'dotfiles', 'bashrc');
    mkdirSync(join(dir, 'dotfiles'));
    writeFileSync(real, 'export KEEP=1\n', { mode: 0o600 });
    chmodSync(real, 0o600);
    if (process.getuid?.() === 0) chownSync(real, 1234, 1234);
    const rc = join(dir, 'home', '.bashrc');
    symlinkSync(real, rc);
    install({ dockerConfig: join(dir, 'dc'), shell: true, rcFiles: [rc] });
    expect(lstatSync(rc).isSymbolicLink()).to.equal(true);
    expect(readFileSync(real, 'utf8')).to.match(/^export KEEP=1\n.*docker-sign\.sh.*docker-sign: docker push --sign wrapper/s);
    expect(statSync(real).mode & 0o777).to.equal(0o600);
    if (process.getuid?.() === 0) expect([statSync(real).uid, statSync(real).gid]).to.deep.equal([1234, 1234]);
    uninstall({ dockerConfig: join(dir, 'dc'), rcFiles: [rc] });
    expect(lstatSync(rc).isSymbolicLink()).to.equal(true);
    expect(readFileSync(real, 'utf8')).to.equal('export KEEP=1\n');
    expect(statSync(real).mode & 0o777).to.equal(0o600);
  });

  it('--hooks with a config.json that is not JSON: refused naming the file, the file untouched', () => {
    mkdirSync(join(dir, 'dc'));
    writeFileSync(join(dir, 'dc', 'config.json'), '{broken');
    expect(() => install({ dockerConfig: join(dir, 'dc'), hooks: true })).to.throw(/config\.json is not valid JSON .*nothing was changed/);
    expect(readFileSync(join(dir, 'dc', 'config.json'), 'utf8')).to.equal('{broken');
  });

  it('the wrapper routes `docker push --sign IMG` to `docker sign push --sign IMG` and leaves the rest alone (bash)', () => {
    const r = install({ dockerConfig: join(dir, 'dc'), shell: true, rcFiles: [join(dir, 'home', '.bashrc')] });
    // a stand-in `docker` on PATH that prints its argv, so the test sees exactly what the function runs
    mkdirSync(join(dir, 'fakebin'));
    writeFileSync(join(dir, 'fakebin', 'docker'), '#!/bin/sh\nprintf "%s|" "$@"; echo\n', { mode: 0o755 });
    const run = (cmd: string) => spawnSync('bash', ['-c', `. '${r.shellFile}'; ${cmd}`], { encoding: 'utf8', env: { PATH: `${join(dir, 'fakebin')}:/usr/bin:/bin` } }).stdout.trim();
    expect(run('docker push --sign localhost:5000/app:1')).to.equal('sign|push|--sign|localhost:5000/app:1|');
    expect(run('docker push localhost:5000/app:1 --sign -q')).to.equal('sign|push|--sign|localhost:5000/app:1|-q|');
    expect(run('docker push localhost:5000/app:1')).to.equal('push|localhost:5000/app:1|');
    expect(run('docker run --rm "a b"')).to.equal('run|--rm|a b|');
    expect(run('docker')).to.equal('|'); // printf with no arguments still prints the separator once
  });

  it('--hooks merges features.hooks and plugins.sign.hooks into config.json without losing keys', () => {
    mkdirSync(join(dir, 'dc'), { recursive: true });
    writeFileSync(join(dir, 'dc', 'config.json'), JSON.stringify({ auths: { 'r:5000': { auth: 'eA==' } }, currentContext: 'x', plugins: { other: { a: 'b' } } }));
    install({ dockerConfig: join(dir, 'dc'), hooks: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'dc', 'config.json'), 'utf8'));
    expect(cfg).to.deep.include({ currentContext: 'x', features: { hooks: 'true' } });
    expect(cfg.auths).to.deep.equal({ 'r:5000': { auth: 'eA==' } });
    expect(cfg.plugins).to.deep.equal({ other: { a: 'b' }, sign: { hooks: 'push,pull' } });
    // the copy of the original: private (credentials), kept across installs, the user's own .bak untouched
    const copy = join(dir, 'dc', 'config.json.before-docker-sign');
    expect(JSON.parse(readFileSync(copy, 'utf8')).plugins).to.deep.equal({ other: { a: 'b' } });
    expect(statSync(copy).mode & 0o777).to.equal(0o600);
    writeFileSync(join(dir, 'dc', 'config.json.bak'), 'MINE');
    install({ dockerConfig: join(dir, 'dc'), hooks: true });
    expect(readFileSync(join(dir, 'dc', 'config.json.bak'), 'utf8')).to.equal('MINE');
    expect(JSON.parse(readFileSync(copy, 'utf8')).plugins).to.deep.equal({ other: { a: 'b' } });
    uninstall({ dockerConfig: join(dir, 'dc'), rcFiles: [] });
    expect(JSON.parse(readFileSync(join(dir, 'dc', 'config.json'), 'utf8')).plugins).to.deep.equal({ other: { a: 'b' } });
  });

  it('bin/docker-sign.js answers docker-cli-plugin-hooks with a What\'s next template, and nothing after a failure', () => {
    const js = join(root, 'bin', 'docker-sign.js');
    const ok = spawnSync(process.execPath, [js, 'sign', 'docker-cli-plugin-hooks', '{"RootCmd":"push","Flags":{},"CommandError":""}'], { encoding: 'utf8' });
    expect(JSON.parse(ok.stdout)).to.deep.equal({ Type: 0, Template: 'Sign it: docker sign {{arg . 0}}' });
    const failed = spawnSync(process.execPath, [js, 'sign', 'docker-cli-plugin-hooks', '{"RootCmd":"pull","CommandError":"boom"}'], { encoding: 'utf8' });
    expect(failed.status).to.equal(0);
    expect(failed.stdout).to.equal('');
  });
});
