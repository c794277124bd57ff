import { Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';
import { EXIT } from '../../errors.js';

export default class GuardStatusCommand extends BaseCommand {
  static override summary = 'Show whether the guard is running and enabled';
  static override description = 'Checks the guard socket (reachable? answers /Plugin.Activate with authz?), its counters, and whether daemon.json enables it. Exit 0 when it answers, 3 when not.';
  static override examples = ['docker sign guard status', 'docker sign guard status -o json', 'docker sign guard status --daemon-json /etc/docker/daemon.json'];
  static override flags = {
    socket: Flags.string({ description: 'guard socket (default from guard/config.json)' }),
    'daemon-json': Flags.string({ description: 'daemon.json to check', default: '/etc/docker/daemon.json' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(GuardStatusCommand);
    const { loadGuardConfig } = await import('../../../plugins/guard/config.js');
    const { probeGuard } = await import('../../../plugins/guard/client.js');
    const { daemonJsonEnables } = await import('../../../plugins/guard/install.js');
    const cfg = loadGuardConfig(this.paths);
    const socket = flags.socket ?? cfg.socket;
    const probe = await probeGuard(socket);
    const enabled = daemonJsonEnables(flags['daemon-json'], cfg.name);
    const out = {
      name: cfg.name,
      socket,
      running: probe.reachable,
      activation: probe.activation ?? null,
      implementsAuthz: probe.implementsAuthz,
      stats: probe.stats ?? null,
      daemonJson: flags['daemon-json'],
      enabledInDaemonJson: enabled ?? null,
      auditLog: cfg.auditLog,
      ...(probe.error ? { error: probe.error } : {}),
    };
    this.emit(out, () => [
      `Guard "${cfg.name}": ${probe.reachable ? (probe.implementsAuthz ? 'running' : 'answering, but not as an authz plug-in') : `not running (${probe.error})`} on ${socket}`,
      probe.activation ? `  Activation: ${JSON.stringify(probe.activation)}` : '',
      probe.stats ? `  Decisions: ${probe.stats.gated} gated, ${probe.stats.allowed} allowed, ${probe.stats.denied} denied, ${probe.stats.cacheHits} from cache; ${probe.stats.cacheEntries} cached verdicts` : '',
      `  daemon.json (${flags['daemon-json']}): ${enabled === undefined ? 'unreadable' : enabled ? `enables "${cfg.name}"` : `does not list "${cfg.name}"`}`,
      `  Audit log: ${cfg.auditLog || 'off'}`,
    ].filter(Boolean).join('\n'));
    if (!probe.reachable || !probe.implementsAuthz) process.exitCode = EXIT.UNAVAILABLE;
  }
}
