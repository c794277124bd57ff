import { BaseCommand, notImplemented } from './base.js';

export default class InstallCommand extends BaseCommand {
  static override summary = "Install docker-sign and docker-generate as Docker CLI plug-ins";
  static override examples = ["docker sign install --shell"];

  async run(): Promise<void> {
    await this.parseCommon(InstallCommand);
    notImplemented("install");
  }
}
