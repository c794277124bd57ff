import { expect } from 'chai';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCredentials, runCredentialHelper } from '../../src/registry/credentials.js';
import { RegistryError } from '../../src/registry/errors.js';

/**
 * Real docker-credential-* executables (shell scripts) on a temp PATH: they log the stdin they got, so the
 * tests check the protocol (server URL on stdin, `get` argument, JSON answer, "credentials not found").
 */
describe('registry/credentials (docker config + credential helper protocol)', () => {
  let dir: string;
  let bin: string;
  let savedPath: string | undefined;

  function helper(name: string, script: string): void {
    const p = join(bin, `docker-credential-${name}`);
    writeFileSync(p, `#!/bin/sh\n${script}\n`);
    chmodSync(p, 0o755);
  }
  function config(v: unknown): string {
    const d = mkdtempSync(join(dir, 'cfg-'));
    writeFileSync(join(d, 'config.json'), JSON.stringify(v));
    return d;
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-creds-'));
    bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${process.env.PATH}`;
    helper('teststore', `[ "$1" = get ] || exit 3\nread url\necho "$url" >> "${dir}/teststore.log"\ncase "$url" in\n  127.0.0.1:5002) printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$url";;\n  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-tok"}' "$url";;\n  *) echo "credentials not found in native keychain"; exit 1;;\nesac`);
    helper('broken', 'echo "helper exploded" >&2; exit 2');
    helper('garbage', 'echo "not json"');
  });
  after(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it('speaks the helper protocol: `get`, server URL on stdin, JSON on stdout', async () => {
    expect(await runCredentialHelper('teststore', '127.0.0.1:5002')).to.deep.equal({ username: 'alice', password: 's3cret' });
    expect(readFileSync(join(dir, 'teststore.log'), 'utf8').split('\n')).to.include('127.0.0.1:5002');
  });
  it('"credentials not found" means anonymous; Username <token> means identity token', async () => {
    expect(await runCredentialHelper('teststore', 'nothing.example')).to.equal(undefined);
    expect(await runCredentialHelper('teststore', 'https://index.docker.io/v1/')).to.deep.equal({ username: '', password: '', identityToken: 'refresh-tok' });
  });
  it('helper failures are typed errors with the helper output', async () => {
    let e: unknown = await runCredentialHelper('broken', 'x').catch((x: unknown) => x);
    expect(e).to.be.instanceOf(RegistryError).with.property('code', 'CREDENTIALS');
    expect((e as Error).message).to.contain('helper exploded');
    e = await runCredentialHelper('garbage', 'x').catch((x: unknown) => x);
    expect((e as Error).message).to.match(/invalid JSON/);
    e = await runCredentialHelper('doesnotexist', 'x').catch((x: unknown) => x);
    expect((e as RegistryError).hint).to.match(/install docker-credential-doesnotexist/);
    e = await runCredentialHelper('../evil', 'x').catch((x: unknown) => x);
    expect((e as Error).message).to.match(/invalid credential helper name/);
  });
  it('reads auths: base64 auth, username/password, identitytoken, scheme-prefixed keys', async () => {
    const d = config({
      auths: {
        '127.0.0.1:5002': { auth: Buffer.from('bob:pw:with:colons').toString('base64') },
        'https://reg.example:5000/v1/': { username: 'u', password: 'p' },
        'https://index.docker.io/v1/': { identitytoken: 'idt' },
      },
    });
    expect(await resolveCredentials('127.0.0.1:5002', d)).to.deep.equal({ username: 'bob', password: 'pw:with:colons' });
    expect(await resolveCredentials('reg.example:5000', d)).to.deep.equal({ username: 'u', password: 'p' });
    expect(await resolveCredentials('docker.io', d)).to.deep.equal({ username: '', password: '', identityToken: 'idt' });
    expect(await resolveCredentials('other.example', d)).to.equal(undefined);
  });
  it('credHelpers[host] wins over credsStore, which wins over auths; docker.io uses the index key', async () => {
    const d = config({
      credHelpers: { '127.0.0.1:5002': 'teststore' },
      credsStore: 'teststore',
      auths: { '127.0.0.1:5002': { auth: Buffer.from('x:y').toString('base64') }, 'fallback.example': { username: 'f', password: 'g' } },
    });
    expect(await resolveCredentials('127.0.0.1:5002', d)).to.deep.equal({ username: 'alice', password: 's3cret' });
    expect(await resolveCredentials('docker.io', d)).to.deep.equal({ username: '', password: '', identityToken: 'refresh-tok' });
    // store has nothing for it -> the plain auths entry
    expect(await resolveCredentials('fallback.example', d)).to.deep.equal({ username: 'f', password: 'g' });
  });
  it('no config file = anonymous; a broken config file is a typed error', async () => {
    expect(await resolveCredentials('127.0.0.1:5002', join(dir, 'nonexistent'))).to.equal(undefined);
    const d = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(d, 'config.json'), '{not json');
    const e = await resolveCredentials('x', d).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(RegistryError).with.property('code', 'CREDENTIALS');
  });
});
