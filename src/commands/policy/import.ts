import { BaseCommand, notImplemented } from '../base.js';

export default class PolicyImportCommand extends BaseCommand {
  static override summary = "Import a trust policy file (notation trustpolicy.json)";
  static override examples = ["docker sign policy import trustpolicy.json"];

  async run(): Promise<void> {
    await this.parseCommon(PolicyImportCommand);
    notImplemented("policy import");
  }
}
