import { BaseCommand, notImplemented } from '../base.js';

export default class GuardStatusCommand extends BaseCommand {
  static override summary = "Show whether the guard is running and enabled";
  static override examples = ["docker sign guard status -o json"];

  async run(): Promise<void> {
    await this.parseCommon(GuardStatusCommand);
    notImplemented("guard status");
  }
}
