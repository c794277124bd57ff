import { Flags } from '@oclif/core';
import { BaseCommand, prose } from '../base.js';

export default class GuardServeCommand extends BaseCommand {
  static override summary = 'Run the Docker Engine authorization plug-in that verifies images before pull and run';
  static override description = prose([
    'Serves the authz plug-in protocol on a unix socket (default /run/docker/plugins/docker-sign.sock) in the',
    'foreground, logging to stderr. dockerd must be started with --authorization-plugin=docker-sign (or have it',
    'in daemon.json "authorization-plugins"; see `docker sign guard install`). SIGTERM/SIGINT stop it and remove',
    'the socket; SIGHUP reloads the trust policy and drops cached verdicts. While it is down, dockerd refuses',
    'every API request (fail closed).',
  ]);
  static override examples = [
    'docker sign guard serve',
    'docker sign guard serve --socket /run/docker/plugins/docker-sign.sock --timeout 10s',
    'docker sign guard serve --docker-host unix:///var/run/docker.sock --config-dir /etc/docker-sign',
  ];
  static override flags = {
    socket: Flags.string({ description: 'unix socket to serve (default from guard/config.json, else /run/docker/plugins/<name>.sock)' }),
    name: Flags.string({ description: 'plug-in name (socket file name; what dockerd is told with --authorization-plugin)' }),
    timeout: Flags.string({ description: 'deadline per verification, e.g. 10s or 500ms (deny when exceeded)' }),
    'docker-host': Flags.string({ description: 'engine whose images are looked up (default $DOCKER_HOST or unix:///var/run/docker.sock)' }),
    'audit-log': Flags.string({ description: 'audit log file (JSON lines); "" disables' }),
    'cache-ttl': Flags.string({ description: 'how long a positive verdict is cached, e.g. 60s (0 disables)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(GuardServeCommand);
    const { parseDuration } = await import('../../../plugins/guard/config.js');
    const { runGuard } = await import('../../../plugins/guard/main.js');
    const overrides = {
      socket: flags.socket as string | undefined,
      timeoutMs: flags.timeout !== undefined ? parseDuration(flags.timeout) : undefined,
      dockerHost: flags['docker-host'] as string | undefined,
      auditLog: flags['audit-log'] as string | undefined,
      cacheTtlMs: flags['cache-ttl'] !== undefined ? parseDuration(flags['cache-ttl']) : undefined,
    };
    if (flags.name && !flags.socket) overrides.socket = `/run/docker/plugins/${flags.name}.sock`;
    const guard = await runGuard({ paths: this.paths, overrides: { ...overrides, ...(flags.name ? { name: flags.name } : {}) }, log: (m) => this.info(m) });
    await guard.closed;
  }
}
