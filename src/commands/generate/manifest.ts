import { BaseCommand, notImplemented } from '../base.js';

export default class GenerateManifestCommand extends BaseCommand {
  static override summary = "Build the OCI image manifest of a local image, so its digest is known before pushing";
  static override examples = ["docker generate manifest localhost:5000/app:1"];

  async run(): Promise<void> {
    await this.parseCommon(GenerateManifestCommand);
    notImplemented("generate manifest");
  }
}
