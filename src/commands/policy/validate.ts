import { BaseCommand, notImplemented } from '../base.js';

export default class PolicyValidateCommand extends BaseCommand {
  static override summary = "Validate a trust policy file";
  static override examples = ["docker sign policy validate trustpolicy.json"];

  async run(): Promise<void> {
    await this.parseCommon(PolicyValidateCommand);
    notImplemented("policy validate");
  }
}
