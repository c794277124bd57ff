import { BaseCommand, notImplemented } from './base.js';

export default class LsCommand extends BaseCommand {
  static override summary = "List the signatures of an image";
  static override examples = ["docker sign ls localhost:5000/app:1"];

  async run(): Promise<void> {
    await this.parseCommon(LsCommand);
    notImplemented("ls");
  }
}
