import { BaseCommand, notImplemented } from '../base.js';

export default class KeyLsCommand extends BaseCommand {
  static override summary = "List signing keys";
  static override examples = ["docker sign key ls"];

  async run(): Promise<void> {
    await this.parseCommon(KeyLsCommand);
    notImplemented("key ls");
  }
}
