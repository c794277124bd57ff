import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class PolicyImportCommand extends BaseCommand {
  static override summary = 'Import a trust policy file';
  static override description = 'Validates FILE as a trustpolicy.json (version 1.0) and installs it in the config directory. Refuses to overwrite without --force.';
  static override examples = ['docker sign policy import ./trustpolicy.json', 'docker sign policy import ./trustpolicy.json --force'];
  static override args = { file: Args.string({ required: true, description: 'trust policy JSON file' }) };
  static override flags = { force: Flags.boolean({ description: 'replace an existing trust policy', default: false }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(PolicyImportCommand);
    const { readTrustPolicyFile, writeTrustPolicy } = await import('../../trust/policyfile.js');
    // read as notation reads it (keys in any case, null = absent, unknown fields and trailing data warned about);
    // what is installed is the normalized document
    const parsed = readTrustPolicyFile(args.file);
    const r = await writeTrustPolicy(this.paths, parsed.document, { force: flags.force });
    for (const w of new Set([...parsed.warnings, ...r.policy.warnings])) this.info(`Warning: ${w}`);
    this.emit({ path: r.path, replaced: r.replaced, statements: r.policy.document.trustPolicies.map((s) => s.name) }, () => `Trust policy imported to ${r.path}`);
  }
}
