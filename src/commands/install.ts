import { Flags } from '@oclif/core';
import { BaseCommand, prose } from './base.js';
import { DockerSignError, EXIT } from '../errors.js';

export default class InstallCommand extends BaseCommand {
  static override summary = 'Install docker-sign and docker-generate as Docker CLI plug-ins';
  static override description = prose([
    'Places docker-sign and docker-generate in $DOCKER_CONFIG/cli-plugins (default ~/.docker/cli-plugins) so that',
    '`docker sign …` and `docker generate …` work from the docker CLI. --shell adds the opt-in `docker push --sign IMAGE`',
    'shell wrapper (a function sourced from ~/.bashrc / ~/.zshrc); --hooks turns on the docker CLI hint shown after',
    '`docker push` / `docker pull`. --uninstall removes what was installed.',
  ]);
  static override examples = [
    'docker sign install',
    'docker sign install --shell',
    'docker sign install --hooks',
    'docker sign install --uninstall --shell',
    'DOCKER_CONFIG=/tmp/dc docker sign install --symlink',
  ];
  static override flags = {
    dir: Flags.string({ description: 'docker config dir (default $DOCKER_CONFIG or ~/.docker); plug-ins go to <dir>/cli-plugins' }),
    shell: Flags.boolean({ description: 'also install the `docker push --sign` shell wrapper', default: false }),
    hooks: Flags.boolean({ description: 'enable docker CLI hooks: a "What\'s next" hint after docker push/pull', default: false }),
    symlink: Flags.boolean({ description: 'symlink to bin/*.js instead of writing exec shims (node must then be on PATH)', default: false }),
    rc: Flags.string({ description: 'shell rc file to source the wrapper from (repeatable; default ~/.bashrc and ~/.zshrc if present)', multiple: true, multipleNonGreedy: true }),
    force: Flags.boolean({ description: 'replace existing docker-sign/docker-generate plug-ins not written by us', default: false }),
    uninstall: Flags.boolean({ description: 'remove the plug-ins, the shell wrapper and the hooks setting', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(InstallCommand);
    const { dockerConfigDir } = await import('../config/dir.js');
    const { install, uninstall } = await import('../../plugins/cli/install.js');
    const opts = { dockerConfig: flags.dir ?? dockerConfigDir(), shell: flags.shell, hooks: flags.hooks, symlink: flags.symlink, rcFiles: flags.rc as string[] | undefined, force: flags.force };
    try {
      if (flags.uninstall) {
        const r = uninstall(opts);
        this.emit(r, () => [
          ...r.removed.map((p) => `Removed ${p}`),
          ...r.rcFilesUpdated.map((p) => `Removed the wrapper line from ${p}`),
          r.hooksConfig ? `Removed plugins.sign.hooks from ${r.hooksConfig}` : '',
          r.removed.length === 0 && r.rcFilesUpdated.length === 0 ? 'Nothing to remove' : '',
        ].filter(Boolean).join('\n'));
        return;
      }
      const r = install(opts);
      this.emit(r, () => [
        ...r.plugins.map((p) => `Installed docker ${p.name}: ${p.path} (${p.kind} -> ${p.target})`),
        r.shellFile ? `Shell wrapper: ${r.shellFile}${r.rcFilesUpdated.length ? ` (sourced from ${r.rcFilesUpdated.join(', ')}; open a new shell)` : ' (already sourced)'}` : '',
        r.hooksConfig ? `CLI hooks enabled in ${r.hooksConfig} (hint after docker push/pull)` : '',
        'Try: docker sign --help',
      ].filter(Boolean).join('\n'));
    } catch (e) {
      if (e instanceof DockerSignError) throw e;
      throw new DockerSignError('INSTALL_FAILED', (e as Error).message, { exitCode: EXIT.USAGE, hint: 'check the paths and permissions; --force replaces foreign plug-in files' });
    }
  }
}
