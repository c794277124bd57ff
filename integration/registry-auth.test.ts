// Authentication against DS_AUTH_REGISTRY (Distribution 2.8 with htpasswd basic auth): anonymous is refused
// with the registry's own message; credentials come from explicit options, $DOCKER_CONFIG auths, a
// credHelpers entry and a credsStore, the latter two through real docker-credential-* scripts on PATH.
import { expect } from 'chai';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRepository, closeConnections, type RemoteRepository } from '../src/registry/index.js';
import { EXIT } from '../src/errors.js';
import { service, requireRegistry, repoName, makeImage, expectCode } from './registry.helpers.js';

describe('registry client with basic auth (DS_AUTH_REGISTRY)', function () {
  this.timeout(60_000);
  let REG: string;
  let USER: string;
  let PASS: string;
  let dir: string;
  let savedPath: string | undefined;
  let savedDockerConfig: string | undefined;

  async function roundTrip(repo: RemoteRepository): Promise<void> {
    const img = makeImage([2048]);
    for (const b of [img.config, ...img.layers]) await repo.pushBlob(b.desc, b.bytes);
    await repo.pushManifest(img.manifest.desc, img.manifest.bytes, 'v1');
    expect((await repo.fetchManifest('v1')).descriptor).to.deep.equal(img.manifest.desc);
    expect((await repo.fetchBlob(img.layers[0]!.desc)).equals(img.layers[0]!.bytes)).to.equal(true);
  }
  function dockerConfig(v: unknown): string {
    const d = mkdtempSync(join(dir, 'docker-'));
    writeFileSync(join(d, 'config.json'), JSON.stringify(v));
    return d;
  }

  before(async () => {
    REG = service('DS_AUTH_REGISTRY');
    USER = service('DS_AUTH_USER');
    PASS = service('DS_AUTH_PASS');
    await requireRegistry(REG);
    dir = mkdtempSync(join(tmpdir(), 'ds-auth-it-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // a real credential helper: logs the server URL it was asked for, answers for the auth registry only
    writeFileSync(join(bin, 'docker-credential-dstest'), `#!/bin/sh
[ "$1" = get ] || { echo "unsupported $1" >&2; exit 1; }
read server
echo "$server" >> "${dir}/helper.log"
if [ "$server" = "${REG}" ]; then
  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\\n' "$server" "${USER}" "${PASS}"
else
  echo "credentials not found in native keychain"; exit 1
fi
`);
    chmodSync(join(bin, 'docker-credential-dstest'), 0o755);
    savedPath = process.env.PATH;
    savedDockerConfig = process.env.DOCKER_CONFIG;
    process.env.PATH = `${bin}:${process.env.PATH}`;
  });
  after(async () => {
    process.env.PATH = savedPath;
    if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedDockerConfig;
    rmSync(dir, { recursive: true, force: true });
    await closeConnections();
  });

  it('anonymous access is UNAUTHORIZED with the registry message and a docker login hint', async () => {
    process.env.DOCKER_CONFIG = dockerConfig({});
    const repo = openRepository(`${REG}/${repoName('anon')}`);
    const e = await expectCode(repo.fetchManifest('v1'), 'UNAUTHORIZED');
    expect(e.message).to.contain('authentication required');
    expect(e.status).to.equal(401);
    expect(e.exitCode).to.equal(EXIT.UNAVAILABLE);
    expect(e.hint).to.contain(`docker login ${REG}`);
    await expectCode(openRepository(`${REG}/${repoName('anon')}`, { credentials: null }).tags(), 'UNAUTHORIZED');
  });

  it('wrong credentials are UNAUTHORIZED ("rejected")', async () => {
    const repo = openRepository(`${REG}/${repoName('wrong')}`, { credentials: { username: USER, password: `${PASS}-wrong` } });
    const e = await expectCode(repo.fetchManifest('v1'), 'UNAUTHORIZED');
    expect(e.hint).to.match(/rejected/);
  });

  it('explicit credentials: push and pull', async () => {
    await roundTrip(openRepository(`${REG}/${repoName('explicit')}`, { credentials: { username: USER, password: PASS } }));
  });

  it('credentials from $DOCKER_CONFIG/config.json auths (base64 auth)', async () => {
    process.env.DOCKER_CONFIG = dockerConfig({ auths: { [REG]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } });
    await roundTrip(openRepository(`${REG}/${repoName('auths')}`));
    // dockerConfigDir option overrides the environment
    process.env.DOCKER_CONFIG = dockerConfig({});
    const d = dockerConfig({ auths: { [`http://${REG}/v1/`]: { username: USER, password: PASS } } });
    await roundTrip(openRepository(`${REG}/${repoName('auths2')}`, { dockerConfigDir: d }));
  });

  it('credentials from credHelpers via the docker-credential protocol', async () => {
    process.env.DOCKER_CONFIG = dockerConfig({ credHelpers: { [REG]: 'dstest' }, auths: { [REG]: { auth: Buffer.from('nobody:nothing').toString('base64') } } });
    await roundTrip(openRepository(`${REG}/${repoName('helper')}`));
    expect(readFileSync(join(dir, 'helper.log'), 'utf8').split('\n')).to.include(REG);
  });

  it('credentials from credsStore; "credentials not found" means anonymous', async () => {
    process.env.DOCKER_CONFIG = dockerConfig({ credsStore: 'dstest' });
    await roundTrip(openRepository(`${REG}/${repoName('store')}`));
    // the store has nothing for another name of the same registry: anonymous → UNAUTHORIZED, "no credentials" hint
    const alias = REG.replace('127.0.0.1', 'localhost');
    const e = await expectCode(openRepository(`${alias}/${repoName('store-anon')}`).fetchManifest('v1'), 'UNAUTHORIZED');
    expect(e.hint).to.contain(`no credentials found for ${alias}`);
    expect(readFileSync(join(dir, 'helper.log'), 'utf8').split('\n')).to.include(alias);
    // credentials are looked up only when a registry asks for them: the open DS_REGISTRY never triggers the helper
    const open = service('DS_REGISTRY');
    await roundTrip(openRepository(`${open}/${repoName('store-open')}`));
    expect(readFileSync(join(dir, 'helper.log'), 'utf8').split('\n')).to.not.include(open);
  });
});
