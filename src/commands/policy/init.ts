import { Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class PolicyInitCommand extends BaseCommand {
  static override summary = 'Create a trust policy';
  static override description =
    'Writes a trustpolicy.json (version 1.0) with one statement. Trust stores are TYPE:NAME (ca, signingAuthority, tsa); ' +
    'identities are "x509.subject: C=..., ST=..., O=..." (C, ST and O are required) or "*". Refuses to overwrite without --force.';
  static override examples = [
    'docker sign policy init --store ca:example --identity "x509.subject: C=US, ST=WA, O=Wabbit Networks, CN=Wabbit Networks Signer"',
    'docker sign policy init --name prod --scope localhost:5000/app --level permissive --store ca:acme --identity "*"',
  ];
  static override flags = {
    name: Flags.string({ description: 'statement name', default: 'default' }),
    scope: Flags.string({ description: 'registry scope (fully qualified repository, or * for all); repeatable', multiple: true, multipleNonGreedy: true }),
    level: Flags.string({ description: 'signature verification level', options: ['strict', 'permissive', 'audit', 'skip'], default: 'strict' }),
    store: Flags.string({ description: 'trust store TYPE:NAME; repeatable', multiple: true, multipleNonGreedy: true }),
    identity: Flags.string({ description: 'trusted identity; repeatable', multiple: true, multipleNonGreedy: true }),
    force: Flags.boolean({ description: 'replace an existing trust policy', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(PolicyInitCommand);
    const { defaultPolicyDocument } = await import('../../trust/policy.js');
    const { writeTrustPolicy } = await import('../../trust/policyfile.js');
    const level = flags.level as 'strict' | 'permissive' | 'audit' | 'skip';
    if (level !== 'skip' && (!flags.store?.length || !flags.identity?.length)) await this.incomplete();
    const doc = defaultPolicyDocument({ name: flags.name, scopes: flags.scope ?? ['*'], level, stores: flags.store ?? [], identities: flags.identity ?? [] });
    if (level === 'skip') {
      delete doc.trustPolicies[0]!.trustStores;
      delete doc.trustPolicies[0]!.trustedIdentities;
    }
    const r = await writeTrustPolicy(this.paths, doc, { force: flags.force });
    for (const w of r.policy.warnings) this.info(`Warning: ${w}`);
    this.emit({ path: r.path, replaced: r.replaced, policy: r.policy.document }, () => `Trust policy written to ${r.path}`);
  }

  /** Without --store or --identity: which trust stores exist here, and the commands that would trust them. */
  private async incomplete(): Promise<never> {
    const { FileTrustStore } = await import('../../trust/truststore.js');
    const { readSigningKeys } = await import('../../pki/keystore.js');
    const { parseDistinguishedName } = await import('../../trust/dn.js');
    const { ConfigError } = await import('../../errors.js');
    const { X509Certificate } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { subjectLine } = await import('../../pki/summary.js');
    const stores = (await new FileTrustStore(this.paths.trustStore).list()).filter((l) => !l.error && l.certificates.length > 0).map((l) => `${l.type}:${l.name}`);
    const storeArgs = stores.filter((s) => !s.startsWith('tsa:')).map((s) => `--store ${s}`).join(' ') || '--store ca:NAME';
    const lines = [stores.length ? `trust stores here: ${stores.join(', ')}` : 'no trust store here yet (`docker sign cert add` adds one; `docker sign key generate` makes one for its test root)'];
    // the default signing key's own identity, as a policy would pin it
    try {
      const keys = readSigningKeys(this.paths);
      const k = keys.keys.find((x) => x.name === keys.default);
      const subject = k?.certPath ? subjectLine(new X509Certificate(readFileSync(k.certPath))) : undefined;
      if (subject) {
        parseDistinguishedName(subject);
        lines.push(`signatures made with your key "${k!.name}":`, `  docker sign policy init ${storeArgs} --identity "x509.subject: ${subject}"`);
      }
    } catch { /* no usable default key: no pinned example */ }
    lines.push('any signer whose certificate chains to those roots:', `  docker sign policy init ${storeArgs} --identity "*"`);
    throw new ConfigError('POLICY_INCOMPLETE', 'a trust policy must name the trust stores (--store) and the trusted identities (--identity) it accepts', {
      hint: lines.join('\n'),
    });
  }
}
