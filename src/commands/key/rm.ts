import { BaseCommand, notImplemented } from '../base.js';

export default class KeyRmCommand extends BaseCommand {
  static override summary = "Remove a signing key";
  static override examples = ["docker sign key rm old-key"];

  async run(): Promise<void> {
    await this.parseCommon(KeyRmCommand);
    notImplemented("key rm");
  }
}
