import { Args } from '@oclif/core';
import { BaseCommand } from '../base.js';
import { counted } from '../../cli/io.js';

export default class PolicyValidateCommand extends BaseCommand {
  static override summary = 'Validate a trust policy';
  static override description = 'Checks FILE (default: the trust policy in the config directory) against the trust policy 1.0 rules; prints the first problem with the statement it is in and exits 2 when invalid.';
  static override examples = ['docker sign policy validate', 'docker sign policy validate ./trustpolicy.json -o json'];
  static override args = { file: Args.string({ required: false, description: 'trust policy file (default: the one in effect)' }) };

  async run(): Promise<void> {
    const { args } = await this.parseCommon(PolicyValidateCommand);
    const { loadTrustPolicy, effectiveStatement } = await import('../../trust/policy.js');
    const policy = args.file ? (await import('../../trust/policyfile.js')).readTrustPolicyFile(args.file) : await loadTrustPolicy(this.paths);
    const statements = policy.document.trustPolicies.map((s) => {
      const e = effectiveStatement(s);
      return { name: s.name, registryScopes: s.registryScopes, level: e.levelLabel, enforcement: e.enforcement, trustStores: s.trustStores ?? [], trustedIdentities: s.trustedIdentities ?? [] };
    });
    for (const w of policy.warnings) this.info(`Warning: ${w}`);
    this.emit({ path: policy.source, valid: true, warnings: policy.warnings, statements }, () =>
      [`Trust policy ${policy.source} is valid (${counted(statements.length, 'statement')})`, ...statements.map((s) => `  ${s.name}: ${s.registryScopes.join(', ')} → ${s.level}`)].join('\n'),
    );
  }
}
