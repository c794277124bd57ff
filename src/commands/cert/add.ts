import { BaseCommand, notImplemented } from '../base.js';

export default class CertAddCommand extends BaseCommand {
  static override summary = "Add certificates to a trust store";
  static override examples = ["docker sign cert add --type ca --store example root.crt"];

  async run(): Promise<void> {
    await this.parseCommon(CertAddCommand);
    notImplemented("cert add");
  }
}
