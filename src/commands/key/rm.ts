import { Args } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class KeyRmCommand extends BaseCommand {
  static override summary = 'Remove a signing key';
  static override description = 'Unregisters the key; its files are deleted only if they are in <config>/localkeys (imported notation keys elsewhere are left alone).';
  static override examples = ['docker sign key rm old-key'];
  static override args = { name: Args.string({ required: true, description: 'key name' }) };

  async run(): Promise<void> {
    const { args } = await this.parseCommon(KeyRmCommand);
    const { removeKey } = await import('../../pki/keystore.js');
    const r = removeKey(this.paths, args.name);
    this.emit({ removed: r.removed.name, deletedFiles: r.deletedFiles }, () => `Removed key "${r.removed.name}"${r.deletedFiles.length ? ` (deleted ${r.deletedFiles.join(', ')})` : ''}`);
  }
}
