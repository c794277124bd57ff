import { BaseCommand, notImplemented } from '../base.js';

export default class KeyDefaultCommand extends BaseCommand {
  static override summary = "Set the default signing key";
  static override examples = ["docker sign key default wabbit-networks"];

  async run(): Promise<void> {
    await this.parseCommon(KeyDefaultCommand);
    notImplemented("key default");
  }
}
