import { BaseCommand, notImplemented } from '../base.js';

export default class PolicyInitCommand extends BaseCommand {
  static override summary = "Create a trust policy";
  static override examples = ["docker sign policy init --store ca:example --identity \"x509.subject: CN=Wabbit Networks Signer\""];

  async run(): Promise<void> {
    await this.parseCommon(PolicyInitCommand);
    notImplemented("policy init");
  }
}
