import { BaseCommand, notImplemented } from '../base.js';

export default class KeyGenerateCommand extends BaseCommand {
  static override summary = "Generate a test signing key and certificate chain";
  static override examples = ["docker sign key generate wabbit-networks"];

  async run(): Promise<void> {
    await this.parseCommon(KeyGenerateCommand);
    notImplemented("key generate");
  }
}
