import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { requireServices, uid, cli, mustSh, sh, tempDir, root, freePort } from './push.helpers.js';

/**
 * DOCKER_HOST=ssh://USER@HOST:PORT against a real sshd on loopback whose sessions reach the test dockerd: the engine
 * is reached the way the docker CLI reaches it (ssh client + `docker system dial-stdio` on the far side), so the
 * manifest generated over ssh is the one generated over the unix socket, and ssh's own failures are reported as such.
 * The ssh client finds its key and known_hosts through a config file given by a wrapper on PATH (ssh reads
 * ~/.ssh/config from the passwd entry, not $HOME); the real /usr/bin/ssh does the work.
 */
describe('integration: the engine over ssh:// (real sshd + ssh client, as docker does it)', function () {
  this.timeout(120_000);
  let services: { dockerHost: string; registry: string };
  let dir: string;
  let sshd: ChildProcess;
  let port: number;
  let env: NodeJS.ProcessEnv;
  const image = `ds-ssh-${uid()}:1`;

  before(async () => {
    services = requireServices();
    if (!existsSync('/usr/sbin/sshd') || sh('ssh', ['-V']).status !== 0) throw new Error('sshd / ssh missing: run scripts/install-system.sh');
    dir = tempDir('ds-ssh-');
    for (const k of ['host_key', 'client_key']) mustSh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
    mustSh('cp', [join(dir, 'client_key.pub'), join(dir, 'authorized_keys')]);
    port = await freePort();
    writeFileSync(join(dir, 'sshd_config'), [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'StrictModes no',
      `PidFile ${join(dir, 'sshd.pid')}`, `SetEnv DOCKER_HOST=${services.dockerHost}`,
    ].join('\n') + '\n');
    mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    sshd.stderr!.on('data', (c) => { log += c; });
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((res) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
        s.on('error', () => res(false));
      });
      if (up) break;
      if (i > 100 || sshd.exitCode !== null) throw new Error(`sshd did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    writeFileSync(join(dir, 'ssh_config'), [
      'Host *', `  IdentityFile ${join(dir, 'client_key')}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking accept-new', '  BatchMode yes', '',
    ].join('\n'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(dir, 'ssh_config')} "$@"\n`);
    chmodSync(join(dir, 'bin', 'ssh'), 0o755);
    env = { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, SSH_AUTH_SOCK: '' };
    mustSh('bash', [join(root, 'scripts', 'test-image.sh'), image, `ssh ${uid()}`]);
  });

  after(() => {
    sshd?.kill();
    sh('docker', ['rmi', '-f', image]);
  });

  it('the docker CLI itself reaches the engine through this sshd (the set-up is what docker users have)', () => {
    const r = sh('docker', ['-H', `ssh://root@127.0.0.1:${port}`, 'image', 'inspect', '--format', '{{.Id}}', image], env);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.match(/^sha256:/);
  });

  it('generate over ssh:// gives the manifest generated over the unix socket (inspect + docker save through dial-stdio)', () => {
    const local = cli(['generate', 'manifest', image, '-q', '--config-dir', tempDir('ds-ssh-cfg-')]);
    expect(local.status, local.stderr).to.equal(0);
    const viaSsh = cli(['generate', 'manifest', image, '-q', '--config-dir', tempDir('ds-ssh-cfg-')], { ...env, DOCKER_HOST: `ssh://root@127.0.0.1:${port}` });
    expect(viaSsh.status, viaSsh.stderr).to.equal(0);
    expect(viaSsh.stdout.trim()).to.equal(local.stdout.trim());
    // through the docker CLI and the installed plug-in: `docker -H ssh://… generate manifest IMAGE`
    const dockerConfig = tempDir('ds-ssh-docker-');
    const inst = cli(['install'], { DOCKER_CONFIG: dockerConfig });
    expect(inst.status, inst.stderr).to.equal(0);
    const viaDocker = sh('docker', ['-H', `ssh://root@127.0.0.1:${port}`, 'generate', 'manifest', image, '-q'], { ...env, DOCKER_CONFIG: dockerConfig, DOCKER_SIGN_CONFIG: tempDir('ds-ssh-cfg-') });
    expect(viaDocker.status, viaDocker.stderr).to.equal(0);
    expect(viaDocker.stdout.trim()).to.equal(local.stdout.trim());
  });

  it('ssh failures are ENGINE_UNREACHABLE with what ssh said: refused login, closed port, a shell that is no docker', () => {
    const cases: [string, RegExp][] = [
      [`ssh://nobody@127.0.0.1:${port}`, /Permission denied|did not answer with the engine API|not available/],
      [`ssh://root@127.0.0.1:${port + 1 === 65536 ? 1 : port + 1}`, /Connection refused/],
    ];
    for (const [host, why] of cases) {
      const r = cli(['generate', 'manifest', image, '-o', 'json', '--config-dir', tempDir('ds-ssh-cfg-')], { ...env, DOCKER_HOST: host });
      expect(r.status, `${host}: ${r.stderr}`).to.equal(3);
      expect(JSON.parse(r.stdout).error).to.equal('ENGINE_UNREACHABLE');
      expect(r.stderr).to.match(new RegExp(`cannot connect to the Docker daemon at ${host.replace(/[.]/g, '\\.')} \\(from DOCKER_HOST / -H\\): `));
      expect(r.stderr).to.match(why);
      expect(r.stderr).to.contain('docker system dial-stdio');
    }
    const bad = cli(['generate', 'manifest', image], { ...env, DOCKER_HOST: `ssh://root@127.0.0.1:${port}/some/path` });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('extra path after the host');
  });
});
