import { Flags } from '@oclif/core';
import { BaseCommand, prose } from '../base.js';
import { DockerSignError, EXIT } from '../../errors.js';

export default class GuardInstallCommand extends BaseCommand {
  static override summary = 'Install the guard for dockerd (socket path, daemon.json)';
  static override description = prose([
    'Makes dockerd find and use the guard. A socket at /run/docker/plugins/<name>.sock is found by name; a socket',
    'elsewhere gets a spec file /etc/docker/plugins/<name>.spec. Without --daemon-json the daemon.json change and the',
    'reload command are printed; with --daemon-json PATH the file is updated in place (other keys kept, a .bak copy',
    'written, atomic replace), and --reload sends dockerd SIGHUP so it takes effect at once. --reload refuses while',
    'the guard is not answering on its socket (dockerd would then refuse every request) unless --force.',
  ]);
  static override examples = [
    'docker sign guard install',
    'docker sign guard install --daemon-json /etc/docker/daemon.json --reload',
    'docker sign guard install --socket /var/run/docker-sign/guard.sock --spec-dir /etc/docker/plugins',
    'docker sign guard install --uninstall --daemon-json /etc/docker/daemon.json --reload',
  ];
  static override flags = {
    name: Flags.string({ description: 'plug-in name (default from guard/config.json, else docker-sign)' }),
    socket: Flags.string({ description: 'socket the guard serves (saved to guard/config.json)' }),
    'daemon-json': Flags.string({ description: 'daemon.json to update (e.g. /etc/docker/daemon.json); without it the change is only printed' }),
    reload: Flags.boolean({ description: 'send SIGHUP to dockerd after updating daemon.json', default: false }),
    pidfile: Flags.string({ description: 'dockerd pid file for --reload', default: '/var/run/docker.pid' }),
    'spec-dir': Flags.string({ description: 'where dockerd looks for plug-in spec files', default: '/etc/docker/plugins' }),
    uninstall: Flags.boolean({ description: 'take the guard out of daemon.json and remove its spec file', default: false }),
    force: Flags.boolean({ description: 'enable even if the guard is not answering on its socket', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(GuardInstallCommand);
    const { loadGuardConfig, guardConfigFile, defaultSocket, checkSocketPath } = await import('../../../plugins/guard/config.js');
    const inst = await import('../../../plugins/guard/install.js');
    const { replaceFile } = await import('../../config/files.js');
    const { probeGuard } = await import('../../../plugins/guard/client.js');
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');

    const base = loadGuardConfig(this.paths);
    const name: string = flags.name ?? base.name;
    const socket: string = flags.socket ?? (flags.name ? defaultSocket(name) : base.socket);
    checkSocketPath(socket, '--socket');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new DockerSignError('INVALID_NAME', `invalid plug-in name "${name}"`, { exitCode: EXIT.USAGE });
    const result: Record<string, unknown> = { name, socket };

    // Persist name/socket so `guard serve` and `guard status` agree with what dockerd is told.
    if (!flags.uninstall && (name !== base.name || socket !== base.socket)) {
      const file = guardConfigFile(this.paths);
      let cur: Record<string, unknown> = {};
      try {
        cur = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        cur = {};
      }
      replaceFile(file, JSON.stringify({ ...cur, name, socket }, null, 2) + '\n', 0o600);
      result.guardConfig = file;
    }

    const specFile = join(flags['spec-dir'], `${name}.spec`);
    if (flags.uninstall) {
      result.specRemoved = inst.removeFile(specFile);
    } else if (inst.needsSpecFile(name, socket)) {
      result.specFile = inst.writeSpecFile(flags['spec-dir'], name, socket);
    }

    if (flags['daemon-json']) {
      const file = flags['daemon-json'];
      if (!flags.uninstall && flags.reload && !flags.force) {
        const probe = await probeGuard(socket);
        if (!probe.reachable || !probe.implementsAuthz) {
          throw new DockerSignError('GUARD_NOT_RUNNING', `the guard is not answering on ${socket}${probe.error ? ` (${probe.error})` : ''}; enabling it now would make dockerd refuse every API request`, {
            hint: 'start it first: docker sign guard serve (or pass --force)',
            exitCode: EXIT.UNAVAILABLE,
          });
        }
      }
      const u = inst.updateDaemonJson(file, name, flags.uninstall);
      Object.assign(result, { daemonJson: file, changed: u.changed, backup: u.backup, authorizationPlugins: u.config['authorization-plugins'] ?? [] });
      if (flags.reload) result.reloadedPid = inst.reloadDockerd(flags.pidfile);
    } else if (flags.reload) {
      throw new DockerSignError('USAGE', '--reload needs --daemon-json PATH (the file dockerd reads)', { exitCode: EXIT.USAGE });
    }

    this.emit(result, () => {
      const lines: string[] = [];
      if (result.guardConfig) lines.push(`Saved name/socket to ${result.guardConfig}`);
      if (result.specFile) lines.push(`Wrote ${result.specFile} (unix://${socket})`);
      else if (!flags.uninstall) lines.push(`dockerd finds the guard by its socket ${socket}`);
      if (result.specRemoved) lines.push(`Removed ${specFile}`);
      const verb = flags.uninstall ? 'remove' : 'add';
      if (flags['daemon-json']) {
        lines.push(result.changed ? `Updated ${flags['daemon-json']} (backup: ${result.backup ?? 'none, new file'}): "authorization-plugins": ${JSON.stringify(result.authorizationPlugins)}` : `${flags['daemon-json']} already ${flags.uninstall ? 'does not list' : 'lists'} "${name}"`);
        if (result.reloadedPid) lines.push(`Sent SIGHUP to dockerd (pid ${result.reloadedPid}); the change is active`);
        else lines.push(`Reload dockerd to apply: sudo kill -HUP $(cat ${flags.pidfile})`);
      } else {
        lines.push(`To ${flags.uninstall ? 'disable' : 'enable'} the guard, ${verb} "${name}" ${flags.uninstall ? 'from' : 'to'} "authorization-plugins" in /etc/docker/daemon.json, e.g.`);
        lines.push(`  { "authorization-plugins": ["${name}"] }`);
        lines.push(`then reload dockerd (no restart needed): sudo kill -HUP $(cat ${flags.pidfile})`);
        lines.push(`or let this command do it: docker sign guard install${flags.uninstall ? ' --uninstall' : ''} --daemon-json /etc/docker/daemon.json --reload`);
        lines.push(`(or start dockerd with --authorization-plugin=${name} — not both: dockerd refuses a setting given twice)`);
      }
      if (!flags.uninstall) lines.push(`Keep the guard running (docker sign guard serve): while it is down dockerd refuses every request.`);
      return lines.join('\n');
    });
  }
}
