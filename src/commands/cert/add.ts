import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class CertAddCommand extends BaseCommand {
  static override summary = 'Add certificates to a trust store';
  static override description =
    'Copies certificate files (PEM or DER, one or more certificates each) into <config>/truststore/x509/TYPE/STORE/, ' +
    'notation\'s layout. Every certificate must be a CA certificate or self-signed. The policy refers to the store as TYPE:STORE.';
  static override examples = ['docker sign cert add --type ca --store example root.crt', 'docker sign cert add --type tsa --store public-tsa tsa-root.pem'];
  static override strict = false;
  static override args = { files: Args.string({ required: true, description: 'certificate file(s)' }) };
  static override flags = {
    type: Flags.string({ char: 't', description: 'trust store type', options: ['ca', 'signingAuthority', 'tsa'], default: 'ca' }),
    store: Flags.string({ char: 's', description: 'named store', required: true }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parseCommon(CertAddCommand);
    const { readFile } = await import('node:fs/promises');
    const { basename } = await import('node:path');
    const { FileTrustStore } = await import('../../trust/truststore.js');
    const { certInfo } = await import('../../trust/x509.js');
    const { PolicyError } = await import('../../trust/errors.js');
    const ts = new FileTrustStore(this.paths.trustStore);
    const type = flags.type as 'ca' | 'signingAuthority' | 'tsa';
    const added: { file: string; path: string; certificates: { subject: string; sha256: string }[] }[] = [];
    for (const file of argv as string[]) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (e) {
        throw new PolicyError('TRUST_STORE_INVALID', `cannot read ${file}: ${(e as Error).message}`);
      }
      const r = await ts.add(type, flags.store, bytes, basename(file));
      added.push({ file, path: r.path, certificates: r.certificates.map((c) => ({ subject: certInfo(c).subject, sha256: certInfo(c).sha256 })) });
    }
    this.emit({ type, store: flags.store, added }, () =>
      added.map((a) => `Added ${a.file} to ${type}:${flags.store}\n${a.certificates.map((c) => `  ${c.subject}  SHA256:${c.sha256}`).join('\n')}`).join('\n'),
    );
  }
}
