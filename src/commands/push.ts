import { BaseCommand, notImplemented } from './base.js';

export default class PushCommand extends BaseCommand {
  static override summary = "Push a local image, its signatures and their referrer links to the registry";
  static override examples = ["docker sign push localhost:5000/app:1"];

  async run(): Promise<void> {
    await this.parseCommon(PushCommand);
    notImplemented("push");
  }
}
