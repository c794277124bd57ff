import { BaseCommand, notImplemented } from '../base.js';

export default class GuardServeCommand extends BaseCommand {
  static override summary = "Run the Docker Engine authorization plug-in that verifies images before pull and run";
  static override examples = ["docker sign guard serve"];

  async run(): Promise<void> {
    await this.parseCommon(GuardServeCommand);
    notImplemented("guard serve");
  }
}
