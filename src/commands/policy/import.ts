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
    const { PolicyError } = await import('../../trust/errors.js');
    const { parseTrustPolicy } = await import('../../trust/policy.js');
    const { writeTrustPolicy } = await import('../../trust/policyfile.js');
    let text: string;
    try {
      text = (await import('../../config/files.js')).readInputFile(args.file, 256 << 20).toString('utf8');
    } catch (e) {
      throw new PolicyError('POLICY_UNREADABLE', `cannot read ${args.file}: ${(e as Error).message}`);
    }
    // read as notation reads it (keys in any case, null = absent, unknown fields and trailing data warned about);
    // what is installed is the normalized document
    const parsed = parseTrustPolicy(text, args.file);
    const r = await writeTrustPolicy(this.paths, parsed.document, { force: flags.force });
    for (const w of new Set([...parsed.warnings, ...r.policy.warnings])) this.info(`Warning: ${w}`);
    this.emit({ path: r.path, replaced: r.replaced, statements: r.policy.document.trustPolicies.map((s) => s.name) }, () => `Trust policy imported to ${r.path}`);
  }
}
