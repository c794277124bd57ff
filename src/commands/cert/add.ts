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
    const { lstat } = await import('node:fs/promises');
    const { InputTooLargeError, MAX_KEY_FILE_BYTES, readInputFile } = await import('../../config/files.js');
    const { basename, join } = await import('node:path');
    const { FileTrustStore, parseStoreFile } = await import('../../trust/truststore.js');
    const { certInfo } = await import('../../trust/x509.js');
    const { PolicyError } = await import('../../trust/errors.js');
    const ts = new FileTrustStore(this.paths.trustStore);
    const type = flags.type as 'ca' | 'signingAuthority' | 'tsa';
    // every file is read and checked before any is added: one bad file leaves the store as it was
    const files: { file: string; bytes: Buffer }[] = [];
    for (const file of argv as string[]) {
      try {
        files.push({ file, bytes: readInputFile(file, MAX_KEY_FILE_BYTES) });
      } catch (e) {
        throw new PolicyError('TRUST_STORE_INVALID', e instanceof InputTooLargeError ? `${file} is larger than ${MAX_KEY_FILE_BYTES >> 20} MiB: not a certificate file` : `cannot read ${file}: ${(e as Error).message}`);
      }
      parseStoreFile(files.at(-1)!.bytes, file, type);
      const name = basename(file);
      if (files.slice(0, -1).some((f) => basename(f.file) === name)) {
        throw new PolicyError('TRUST_STORE_INVALID', `two of the files are named "${name}": a store keeps files by name`, { hint: 'rename one of them' });
      }
      if (await lstat(join(ts.dir(type, flags.store), name)).catch(() => undefined)) {
        throw new PolicyError('TRUST_STORE_INVALID', `"${name}" already exists in trust store "${type}:${flags.store}"`, { hint: 'remove it first with `docker sign cert rm`' });
      }
    }
    const added: { file: string; path: string; certificates: { subject: string; sha256: string }[] }[] = [];
    for (const { file, bytes } of files) {
      const r = await ts.add(type, flags.store, bytes, file);
      added.push({ file, path: r.path, certificates: r.certificates.map((c) => ({ subject: certInfo(c).subject, sha256: certInfo(c).sha256 })) });
    }
    this.emit({ type, store: flags.store, added }, () =>
      added.map((a) => `Added ${a.file} to ${type}:${flags.store}\n${a.certificates.map((c) => `  ${c.subject}  SHA256:${c.sha256}`).join('\n')}`).join('\n'),
    );
  }
}
