import { BaseCommand, notImplemented } from './base.js';

export default class VerifyCommand extends BaseCommand {
  static override summary = "Verify the signatures of an image against the trust policy";
  static override examples = ["docker sign verify localhost:5000/app:1"];

  async run(): Promise<void> {
    await this.parseCommon(VerifyCommand);
    notImplemented("verify");
  }
}
