import { Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class CertLsCommand extends BaseCommand {
  static override summary = 'List trust store certificates';
  static override examples = ['docker sign cert ls', 'docker sign cert ls --type ca --store example -o json'];
  static override flags = {
    type: Flags.string({ char: 't', description: 'only this trust store type', options: ['ca', 'signingAuthority', 'tsa'] }),
    store: Flags.string({ char: 's', description: 'only this named store' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(CertLsCommand);
    const { FileTrustStore } = await import('../../trust/truststore.js');
    const stores = await new FileTrustStore(this.paths.trustStore).list({
      ...(flags.type ? { type: flags.type as 'ca' | 'signingAuthority' | 'tsa' } : {}),
      ...(flags.store ? { name: flags.store } : {}),
    });
    this.emit(stores, () => {
      if (stores.length === 0) return 'No trust stores.';
      const rows = ['STORE\tFILE\tSUBJECT\tNOT AFTER\tSHA256'];
      for (const s of stores) {
        if (s.error) rows.push(`${s.type}:${s.name}\t-\t(unreadable: ${s.error})\t-\t-`);
        for (const c of s.certificates) rows.push(`${s.type}:${s.name}\t${c.file}\t${c.subject}\t${c.notAfter}\t${c.sha256}`);
        if (!s.error && s.certificates.length === 0) rows.push(`${s.type}:${s.name}\t-\t(empty)\t-\t-`);
      }
      return rows.join('\n');
    });
  }
}
