import { BaseCommand, notImplemented } from './base.js';

export default class SignCommand extends BaseCommand {
  static override summary = "Sign an image: a local image (kept until `docker sign push`) or a remote reference";
  static override examples = ["docker sign localhost:5000/app:1"];

  async run(): Promise<void> {
    await this.parseCommon(SignCommand);
    notImplemented("sign");
  }
}
