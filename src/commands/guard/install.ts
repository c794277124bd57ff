import { BaseCommand, notImplemented } from '../base.js';

export default class GuardInstallCommand extends BaseCommand {
  static override summary = "Install the guard for dockerd (socket path, daemon.json)";
  static override examples = ["docker sign guard install"];

  async run(): Promise<void> {
    await this.parseCommon(GuardInstallCommand);
    notImplemented("guard install");
  }
}
