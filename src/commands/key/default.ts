import { Args } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class KeyDefaultCommand extends BaseCommand {
  static override summary = 'Set the default signing key';
  static override examples = ['docker sign key default wabbit-networks'];
  static override args = { name: Args.string({ required: true, description: 'key name' }) };

  async run(): Promise<void> {
    const { args } = await this.parseCommon(KeyDefaultCommand);
    const { setDefaultKey } = await import('../../pki/keystore.js');
    setDefaultKey(this.paths, args.name);
    this.emit({ default: args.name }, () => `Default signing key: ${args.name}`);
  }
}
