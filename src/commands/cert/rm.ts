import { BaseCommand, notImplemented } from '../base.js';

export default class CertRmCommand extends BaseCommand {
  static override summary = "Remove a certificate from a trust store";
  static override examples = ["docker sign cert rm --type ca --store example root.crt"];

  async run(): Promise<void> {
    await this.parseCommon(CertRmCommand);
    notImplemented("cert rm");
  }
}
