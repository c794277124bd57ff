import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class KeyImportCommand extends BaseCommand {
  static override summary = 'Import a signing key and its certificate chain';
  static override description =
    'Key: PEM or DER in PKCS#8, PKCS#1 (RSA) or SEC1 (EC); an encrypted key (PKCS#8 or legacy PEM encryption) takes its ' +
    'password from --password-stdin or DOCKER_SIGN_KEY_PASSWORD. Certificate file: PEM, leaf first, then intermediates and root. ' +
    'Or a PKCS#12 file with --p12 (read with the system openssl; password from --password-stdin or DOCKER_SIGN_P12_PASSWORD). ' +
    'The chain must meet the Notary Project signing certificate requirements. The key is stored decrypted in ' +
    '<config>/localkeys (0600, as notation keeps its keys).';
  static override examples = [
    'docker sign key import prod --key key.pem --cert chain.pem',
    'docker sign key import prod --p12 signer.p12 --password-stdin < pass.txt',
    'docker sign key import prod --key encrypted-key.pem --cert chain.pem --password-stdin < pass.txt',
  ];
  static override args = { name: Args.string({ required: true, description: 'key name' }) };
  static override flags = {
    key: Flags.string({ description: 'private key file (PEM/DER: PKCS#8, PKCS#1, SEC1)' }),
    cert: Flags.string({ description: 'certificate chain file (PEM, leaf first)' }),
    p12: Flags.string({ description: 'PKCS#12 file holding the key and chain' }),
    'password-stdin': Flags.boolean({ description: 'read the password of the PKCS#12 file or encrypted key from stdin', default: false }),
    default: Flags.boolean({ description: 'make it the default signing key', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(KeyImportCommand);
    let password = (flags.p12 ? process.env.DOCKER_SIGN_P12_PASSWORD : undefined) ?? process.env.DOCKER_SIGN_KEY_PASSWORD ?? process.env.DOCKER_SIGN_P12_PASSWORD;
    if (flags['password-stdin']) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    }
    const { importKey } = await import('../../pki/import.js');
    const { readSigningKeys } = await import('../../pki/keystore.js');
    const r = importKey(this.paths, { name: args.name, keyFile: flags.key, certFile: flags.cert, p12File: flags.p12, password, setDefault: flags.default });
    const isDefault = readSigningKeys(this.paths).default === args.name;
    this.emit({ name: r.name, default: isDefault, keyPath: r.keyPath, certPath: r.certPath, chain: r.chainSubjects }, () =>
      [`Imported key "${r.name}"${isDefault ? ' (default)' : ''}`, `  key:         ${r.keyPath}`, `  certificate: ${r.certPath}`, ...r.chainSubjects.map((s, i) => `  chain[${i}]:    ${s}`)].join('\n'),
    );
  }
}
