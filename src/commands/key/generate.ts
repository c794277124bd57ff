import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';
import { mkdirsSync } from '../../config/mkdir.js';

export default class KeyGenerateCommand extends BaseCommand {
  static override summary = 'Generate a test signing key and certificate chain';
  static override description =
    'Creates a self-signed test root CA and a code-signing leaf certificate (like `notation cert generate-test`, with a separate root), ' +
    'stores the key (0600) and chain under <config>/localkeys, registers the key in signingkeys.json and, unless --no-trust, ' +
    'adds the root to the trust store as ca/<name>. For testing only.';
  static override examples = [
    'docker sign key generate wabbit-networks',
    'docker sign key generate wabbit-ec --type ec-p256 --default',
    'docker sign key generate build --subject "C=US, O=Example, CN=Build Signer" --no-trust',
  ];
  static override args = { name: Args.string({ required: true, description: 'key name' }) };
  static override flags = {
    type: Flags.string({ description: 'key type', options: ['rsa-3072', 'ec-p256', 'ec-p384'], default: 'rsa-3072' }),
    subject: Flags.string({ description: 'leaf certificate subject DN (default: C=US, ST=WA, L=Seattle, O=Notary, CN=<name>)' }),
    days: Flags.integer({ description: 'validity in days', default: 365, min: 1 }),
    default: Flags.boolean({ description: 'make it the default signing key', default: false }),
    trust: Flags.boolean({ description: 'add the test root to the trust store (ca/<name>)', default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(KeyGenerateCommand);
    const { validateKeyName, addLocalKey, findKey } = await import('../../pki/keystore.js');
    validateKeyName(args.name);
    let exists = false;
    try {
      findKey(this.paths, args.name);
      exists = true;
    } catch {
      /* not present */
    }
    if (exists) {
      const { ConfigError } = await import('../../errors.js');
      throw new ConfigError('KEY_EXISTS', `a signing key named ${JSON.stringify(args.name)} already exists`, { hint: `remove it first with 'docker sign key rm ${args.name}'` });
    }
    if (flags.subject !== undefined) {
      // the key is meant to be trusted by a policy naming it (x509.subject: …), which needs C, ST and O
      const { parseDistinguishedName } = await import('../../trust/dn.js');
      const { InputError } = await import('../../errors.js');
      try {
        parseDistinguishedName(flags.subject);
      } catch (e) {
        throw new InputError('INVALID_SUBJECT', `--subject: ${(e as Error).message}`, { hint: 'e.g. --subject "C=US, ST=WA, O=Example, CN=Build Signer"' });
      }
    }
    const { generateTestKey } = await import('../../pki/generate.js');
    const g = await generateTestKey({ name: args.name, type: flags.type, subject: flags.subject, days: flags.days });
    const entry = addLocalKey(this.paths, args.name, g.keyPem, g.chainPem, { setDefault: flags.default });
    let trustPath: string | undefined;
    if (flags.trust) {
      const { writeFileSync, readFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const dir = join(this.paths.trustStore, 'x509', 'ca', args.name);
      mkdirsSync(dir);
      // A store of that name may hold the root of an earlier key of the same name (key rm leaves trust stores as
      // they are): keep it, and add this root next to it under the first free name.
      for (let i = 0; trustPath === undefined; i++) {
        const candidate = join(dir, i === 0 ? `${args.name}.crt` : `${args.name}-${i + 1}.crt`);
        try {
          writeFileSync(candidate, g.rootPem, { mode: 0o644, flag: 'wx' });
          trustPath = candidate;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i >= 999) throw e;
          if (readFileSync(candidate, 'utf8') === g.rootPem) trustPath = candidate;
        }
      }
    }
    const [{ readSigningKeys }, { dn }] = await Promise.all([import('../../pki/keystore.js'), import('../../pki/summary.js')]);
    const leaf = g.chain[0]!;
    const data = {
      name: args.name,
      default: readSigningKeys(this.paths).default === args.name,
      keyPath: entry.keyPath,
      certPath: entry.certPath,
      type: flags.type,
      subject: dn(leaf.subject),
      sha256Fingerprint: leaf.fingerprint256,
      rootSha256Fingerprint: g.chain[1]!.fingerprint256,
      notAfter: new Date(leaf.validTo).toISOString(),
      trustStoreCertificate: trustPath ?? null,
    };
    this.emit(data, () =>
      [
        `Generated ${flags.type} key "${args.name}"${data.default ? ' (default)' : ''}`,
        `  key:         ${entry.keyPath}`,
        `  certificate: ${entry.certPath} (leaf + test root)`,
        `  subject:     ${data.subject}`,
        `  SHA-256:     ${data.sha256Fingerprint}`,
        trustPath ? `  trust store: ${trustPath} (ca/${args.name})` : '  trust store: not changed (--no-trust)',
      ].join('\n'),
    );
  }
}
