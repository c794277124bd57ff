import { BaseCommand, notImplemented } from '../base.js';

export default class PolicyExplainCommand extends BaseCommand {
  static override summary = "Explain which policy applies to an image and why verification passes or fails";
  static override examples = ["docker sign policy explain localhost:5000/app:1"];

  async run(): Promise<void> {
    await this.parseCommon(PolicyExplainCommand);
    notImplemented("policy explain");
  }
}
