import { BaseCommand, notImplemented } from './base.js';

export default class PullCommand extends BaseCommand {
  static override summary = "Verify an image, then pull it by the verified digest and tag it locally";
  static override examples = ["docker sign pull localhost:5000/app:1"];

  async run(): Promise<void> {
    await this.parseCommon(PullCommand);
    notImplemented("pull");
  }
}
