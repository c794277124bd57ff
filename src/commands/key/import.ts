import { BaseCommand, notImplemented } from '../base.js';

export default class KeyImportCommand extends BaseCommand {
  static override summary = "Import a signing key and its certificate chain";
  static override examples = ["docker sign key import prod --key key.pem --cert chain.pem"];

  async run(): Promise<void> {
    await this.parseCommon(KeyImportCommand);
    notImplemented("key import");
  }
}
