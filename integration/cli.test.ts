import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The REAL docker CLI (28.x) against plug-ins installed by `docker sign install` into a temp DOCKER_CONFIG.
// Needs `npm run build` (bin/*.js load dist/) and DOCKER_HOST (scripts/services.sh env) for `docker info`.
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

describe('integration: docker CLI plug-ins (docker sign install)', function () {
  this.timeout(120_000);
  let dc: string;

  before(() => {
    if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('dist/ missing: run npm run build');
    if (!process.env.DOCKER_HOST) throw new Error('DOCKER_HOST is not set: eval "$(bash scripts/services.sh env)"');
    const v = run('docker', ['--version'], {});
    if (v.status !== 0) throw new Error(`docker CLI not available: ${v.stderr}`);
    dc = mkdtempSync(join(tmpdir(), 'ds-cli-int-'));
    const r = run(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'install', '--dir', dc], {});
    expect(r.status, r.stderr).to.equal(0);
  });
  after(() => dc && rmSync(dc, { recursive: true, force: true }));

  it('docker --help lists sign* and generate* with their descriptions', () => {
    const r = run('docker', ['--help'], { DOCKER_CONFIG: dc });
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/^\s+sign\*\s+Sign, push and verify images/m);
    expect(r.stdout).to.match(/^\s+generate\*\s+Generate the OCI manifest/m);
    expect(r.stdout).to.not.include('Invalid Plugins');
  });

  it('docker sign --help and docker help sign print our help; docker generate --help too', () => {
    for (const args of [['sign', '--help'], ['help', 'sign']]) {
      const r = run('docker', args, { DOCKER_CONFIG: dc });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include('$ docker sign');
      expect(r.stdout).to.include('guard');
    }
    const g = run('docker', ['generate', '--help'], { DOCKER_CONFIG: dc });
    expect(g.status, g.stderr).to.equal(0);
    expect(g.stdout).to.match(/generate/i);
    const sub = run('docker', ['sign', 'guard', 'serve', '--help'], { DOCKER_CONFIG: dc });
    expect(sub.status, sub.stderr).to.equal(0);
    expect(sub.stdout).to.include('--socket');
  });

  it('docker info lists the plug-ins with version and path', () => {
    const r = run('docker', ['info', '--format', '{{json .ClientInfo.Plugins}}'], { DOCKER_CONFIG: dc });
    expect(r.status, r.stderr).to.equal(0);
    const plugins = JSON.parse(r.stdout) as { Name: string; Vendor: string; Version: string; Path: string; Err?: unknown }[];
    const sign = plugins.find((p) => p.Name === 'sign');
    expect(sign, r.stdout).to.not.equal(undefined);
    expect(sign!.Vendor).to.equal('docker-sign');
    expect(sign!.Path).to.equal(join(dc, 'cli-plugins', 'docker-sign'));
    expect(sign!.Err ?? null).to.equal(null);
    expect(plugins.some((p) => p.Name === 'generate')).to.equal(true);
  });

  it('docker global flags before the name reach the plug-in (-H parsed, --config honoured)', () => {
    const other = mkdtempSync(join(tmpdir(), 'ds-cli-int-other-'));
    try {
      // `docker --config X` makes docker look for plug-ins in X: install there first through the first config.
      const r = run('docker', ['-H', process.env.DOCKER_HOST!, '--debug', 'sign', 'install', '--dir', other, '-o', 'json'], { DOCKER_CONFIG: dc });
      expect(r.status, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).pluginsDir).to.equal(join(other, 'cli-plugins'));
      // now --config <other> (a global flag) must become our DOCKER_CONFIG: install without --dir lands there
      const again = run('docker', ['--config', other, 'sign', 'install', '-o', 'json'], { DOCKER_CONFIG: dc });
      expect(again.status, again.stderr).to.equal(0);
      expect(JSON.parse(again.stdout).pluginsDir).to.equal(join(other, 'cli-plugins'));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('exit codes propagate through docker (guard status of a missing guard -> 3)', () => {
    const r = run('docker', ['sign', 'guard', 'status', '--socket', join(dc, 'nothing.sock'), '--daemon-json', join(dc, 'none.json')], { DOCKER_CONFIG: dc });
    expect(r.status).to.equal(3);
    expect(r.stdout).to.include('not running');
  });
});

describe('integration: docker CLI hooks hint (docker sign install --hooks)', function () {
  this.timeout(120_000);
  let dc: string;
  const reg = () => {
    if (!process.env.DS_REGISTRY) throw new Error('DS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
    return process.env.DS_REGISTRY;
  };
  before(() => {
    dc = mkdtempSync(join(tmpdir(), 'ds-cli-hooks-'));
    const r = run(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'install', '--dir', dc, '--hooks'], {});
    expect(r.status, r.stderr).to.equal(0);
  });
  after(() => dc && rmSync(dc, { recursive: true, force: true }));

  it('after docker push (on a terminal) the CLI prints our "What\'s next" hint with the image name', () => {
    const tag = `${reg()}/cli-hooks-${process.pid}-${Date.now()}/app:1`;
    const b = run('bash', [join(root, 'scripts', 'test-image.sh'), tag, 'hooks'], {});
    expect(b.status, b.stderr).to.equal(0);
    try {
      // hooks only run when stdout is a terminal: `script` gives docker a pty
      const r = run('script', ['-qec', `docker push ${tag}`, '/dev/null'], { DOCKER_CONFIG: dc });
      expect(r.status, r.stdout).to.equal(0);
      expect(r.stdout).to.include("What's next:");
      expect(r.stdout).to.include(`Sign it: docker sign ${tag}`);
      const piped = run('docker', ['push', tag], { DOCKER_CONFIG: dc });
      expect(piped.stdout + piped.stderr).to.not.include("What's next");
    } finally {
      run('docker', ['rmi', tag], {});
    }
  });
});

describe('integration: the `docker push --sign` shell wrapper (docker sign install --shell), real docker CLI', function () {
  this.timeout(120_000);
  let home: string;
  it('bash and dash: `docker push --sign IMAGE` (also after global options, as `image push`) signs with the default key and pushes image + signature; plain `docker push` stays docker\'s', () => {
    if (!process.env.DS_REGISTRY) throw new Error('DS_REGISTRY is not set: eval "$(bash scripts/services.sh env)"');
    home = mkdtempSync(join(tmpdir(), 'ds-cli-wrap-'));
    const dc = join(home, '.docker');
    const cfg = join(home, 'ds-config');
    const env = { HOME: home, DOCKER_CONFIG: dc, DOCKER_SIGN_CONFIG: cfg };
    const tag = `${process.env.DS_REGISTRY}/cli-wrap-${process.pid}-${Date.now()}/app:1`;
    try {
      const i = run(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'install', '--dir', dc, '--shell', '-o', 'json'], env);
      expect(i.status, i.stderr).to.equal(0);
      const k = run(process.execPath, [join(root, 'bin', 'docker-sign.js'), 'key', 'generate', 'wrap', '--type', 'ec-p256', '--default'], env);
      expect(k.status, k.stderr).to.equal(0);
      expect(run('bash', [join(root, 'scripts', 'test-image.sh'), tag, 'wrapped'], {}).status).to.equal(0);
      // an interactive bash reads ~/.bashrc, where install put the line that sources the wrapper
      const r = run('bash', ['-ic', `docker push --sign ${tag}`], env);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/Signed .*@sha256:[0-9a-f]{64} with key wrap/);
      expect(r.stdout).to.match(/signatures: 1 pushed/);
      // the signature is in the registry: ls through the plug-in lists it under the pushed digest
      const ls = run('docker', ['sign', 'ls', '-o', 'json', tag], env);
      expect(ls.status, ls.stderr).to.equal(0);
      expect(JSON.stringify(JSON.parse(ls.stdout))).to.contain('application/vnd.cncf.notary.signature');
      const plain = run('bash', ['-ic', `docker push ${tag}`], env);
      expect(plain.status, plain.stderr).to.equal(0);
      expect(plain.stderr).to.not.contain('Signed');
      // POSIX sh (dash): the same file, found after docker's global options and as `docker image push`; the default
      // context is DOCKER_HOST, as for docker itself
      const shellFile = join(dc, 'docker-sign.sh');
      const dash = run('dash', ['-c', `. '${shellFile}' && docker --context default image push --sign ${tag}`], env);
      expect(dash.status, dash.stderr).to.equal(0);
      expect(dash.stderr).to.match(/is already signed with key wrap/); // the bash run above signed it
      const all = run('dash', ['-c', `. '${shellFile}' && docker push --all-tags --sign ${tag}`], env);
      expect(all.status).to.equal(125);
      expect(all.stderr).to.contain('--all-tags is not supported');
    } finally {
      run('docker', ['rmi', tag], {});
      rmSync(home, { recursive: true, force: true });
    }
  });
});
