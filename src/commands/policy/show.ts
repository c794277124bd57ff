import { BaseCommand, notImplemented } from '../base.js';

export default class PolicyShowCommand extends BaseCommand {
  static override summary = "Show the trust policy";
  static override examples = ["docker sign policy show -o json"];

  async run(): Promise<void> {
    await this.parseCommon(PolicyShowCommand);
    notImplemented("policy show");
  }
}
