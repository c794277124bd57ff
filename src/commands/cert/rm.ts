import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class CertRmCommand extends BaseCommand {
  static override summary = 'Remove a certificate from a trust store';
  static override description = 'Removes a certificate file from TYPE:STORE, by file name or by the SHA-256 fingerprint of a certificate in it; --all removes the whole named store.';
  static override examples = [
    'docker sign cert rm --type ca --store example root.crt',
    'docker sign cert rm --type ca --store example 73525506a4ad8236369a0c7811e8a21b7e030bbf8a437d0917379cdce2b1802d',
    'docker sign cert rm --type ca --store example --all',
  ];
  static override args = { cert: Args.string({ required: false, description: 'file name or SHA-256 fingerprint' }) };
  static override flags = {
    type: Flags.string({ char: 't', description: 'trust store type', options: ['ca', 'signingAuthority', 'tsa'], default: 'ca' }),
    store: Flags.string({ char: 's', description: 'named store', required: true }),
    all: Flags.boolean({ description: 'remove the whole named store', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(CertRmCommand);
    const { FileTrustStore } = await import('../../trust/truststore.js');
    const { InputError } = await import('../../errors.js');
    if (!args.cert && !flags.all) throw new InputError('MISSING_ARGUMENT', 'name a certificate file or SHA-256 fingerprint, or pass --all to remove the store');
    if (args.cert && flags.all) throw new InputError('CONFLICTING_ARGUMENTS', '--all removes the whole store; do not name a certificate as well');
    const removed = await new FileTrustStore(this.paths.trustStore).remove(flags.type as 'ca' | 'signingAuthority' | 'tsa', flags.store, flags.all ? undefined : args.cert);
    this.emit({ type: flags.type, store: flags.store, removed }, () => removed.map((r) => `Removed ${r}`).join('\n'));
  }
}
