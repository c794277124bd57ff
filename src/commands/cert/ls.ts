import { BaseCommand, notImplemented } from '../base.js';

export default class CertLsCommand extends BaseCommand {
  static override summary = "List trust store certificates";
  static override examples = ["docker sign cert ls"];

  async run(): Promise<void> {
    await this.parseCommon(CertLsCommand);
    notImplemented("cert ls");
  }
}
