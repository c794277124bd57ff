import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class PolicyExplainCommand extends BaseCommand {
  static override summary = 'Explain how the trust policy applies to an image';
  static override description =
    'Runs the verification of REF and shows the statement that applies, its level and actions, and every check of every ' +
    'signature evaluated (pass / fail / skipped, enforced or logged, and why). Exits 0 whatever the verdict (use `verify` to gate).';
  static override examples = ['docker sign policy explain localhost:5000/app:1', 'docker sign policy explain localhost:5000/app:1 -o json'];
  static override args = { reference: Args.string({ required: true, description: 'image reference (tag or digest)' }) };
  static override flags = {
    'oci-layout': Flags.string({ description: 'read the image and signatures from this OCI image layout directory' }),
    'insecure-registry': Flags.boolean({ description: 'use plain HTTP for the registry of REF', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(PolicyExplainCommand);
    const { verifyReference } = await import('../../trust/index.js');
    const { explainReport } = await import('../../trust/render.js');
    const { parseReference } = await import('../../oci/reference.js');
    let target;
    if (flags['oci-layout']) {
      const { OciLayout } = await import('../../oci/layout.js');
      target = await OciLayout.open(flags['oci-layout']);
    }
    const ref = parseReference(args.reference);
    const report = await verifyReference(args.reference, {
      configPaths: this.paths,
      ...(target ? { target } : {}),
      registryOptions: flags['insecure-registry'] ? { insecure: [ref.registry] } : {},
    });
    this.emit(report, () => explainReport(report));
  }
}
