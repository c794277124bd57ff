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
    scope: Flags.string({ description: 'registry scope (fully qualified repository, or * for all); repeatable', multiple: true }),
    level: Flags.string({ description: 'signature verification level', options: ['strict', 'permissive', 'audit', 'skip'], default: 'strict' }),
    store: Flags.string({ description: 'trust store TYPE:NAME; repeatable', multiple: true }),
    identity: Flags.string({ description: 'trusted identity; repeatable', multiple: true }),
    force: Flags.boolean({ description: 'replace an existing trust policy', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(PolicyInitCommand);
    const { defaultPolicyDocument } = await import('../../trust/policy.js');
    const { writeTrustPolicy } = await import('../../trust/policyfile.js');
    const level = flags.level as 'strict' | 'permissive' | 'audit' | 'skip';
    const doc = defaultPolicyDocument({ name: flags.name, scopes: flags.scope ?? ['*'], level, stores: flags.store ?? [], identities: flags.identity ?? [] });
    if (level === 'skip') {
      delete doc.trustPolicies[0]!.trustStores;
      delete doc.trustPolicies[0]!.trustedIdentities;
    }
    const r = await writeTrustPolicy(this.paths, doc, { force: flags.force });
    for (const w of r.policy.warnings) this.info(`Warning: ${w}`);
    this.emit({ path: r.path, replaced: r.replaced, policy: r.policy.document }, () => `Trust policy written to ${r.path}`);
  }
}
