import { BaseCommand, notImplemented } from './base.js';

export default class InspectCommand extends BaseCommand {
  static override summary = "Show the details of the signatures of an image";
  static override examples = ["docker sign inspect localhost:5000/app:1 -o json"];

  async run(): Promise<void> {
    await this.parseCommon(InspectCommand);
    notImplemented("inspect");
  }
}
