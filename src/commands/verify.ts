import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './base.js';

export default class VerifyCommand extends BaseCommand {
  static override summary = 'Verify the signatures of an image against the trust policy';
  static override description =
    'Finds the Notary Project signatures of the image (referrers), and checks them against the trust policy statement whose ' +
    'registryScopes match the repository: integrity, authenticity (trust store + trusted identities), expiry, authentic ' +
    'timestamp and revocation, enforced or logged per the statement\'s level. Exits 0 only when a signature satisfies the ' +
    'policy, 1 when none does. Works with a notation config directory as is (--config-dir ~/.config/notation).';
  static override examples = [
    'docker sign verify localhost:5000/app:1',
    'docker sign verify localhost:5000/app@sha256:a983015660589b7152ba0db819cbf57a85570ff5cc05188b0a0554db444754ef -o json',
    'docker sign verify --oci-layout ./app-layout localhost:5000/app:1',
    'docker sign verify --insecure-registry registry.lan:5000/app:1',
  ];
  static override args = { reference: Args.string({ required: true, description: 'image reference (tag or digest)' }) };
  static override flags = {
    'oci-layout': Flags.string({ description: 'verify offline from this OCI image layout directory (REF names the repository for the trust policy, its tag/digest the image)' }),
    'insecure-registry': Flags.boolean({ description: 'use plain HTTP for the registry of REF', default: false }),
    'max-signatures': Flags.integer({ description: 'maximum number of signatures to evaluate', default: 100, min: 1 }),
    verbose: Flags.boolean({ char: 'v', description: 'print each check of each signature', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(VerifyCommand);
    const { verifyReference } = await import('../trust/index.js');
    const { explainReport, failureMessage, loggedFailureWarnings } = await import('../trust/render.js');
    let target;
    if (flags['oci-layout']) {
      const { OciLayout } = await import('../oci/layout.js');
      target = await OciLayout.open(flags['oci-layout']);
    }
    const { parseReference } = await import('../oci/reference.js');
    const ref = parseReference(args.reference);
    if (!ref.digest && !this.json) {
      this.info(`Warning: Always verify the artifact using digest(@sha256:...) rather than a tag(:${ref.tag ?? 'latest'}) because resolved digest may not point to the same signed artifact, as tags are mutable.`);
    }
    const report = await verifyReference(args.reference, {
      configPaths: this.paths,
      ...(target ? { target } : {}),
      registryOptions: flags['insecure-registry'] ? { insecure: [ref.registry] } : {},
      maxSignatures: flags['max-signatures'],
    });
    if (this.json) {
      this.emit(report, () => '');
    } else {
      if (flags.verbose) process.stderr.write(explainReport(report) + '\n');
      else for (const w of loggedFailureWarnings(report)) this.info(`Warning: ${w}`);
      if (report.verified) {
        process.stdout.write(
          report.level === 'skip'
            ? `Trust policy is configured to skip signature verification for ${report.reference}\n`
            : `Successfully verified signature for ${report.reference}\n`,
        );
      }
    }
    if (!report.verified) {
      process.stderr.write(`Error: ${failureMessage(report)}\n`);
      const sig = report.signatures.find((s) => !s.verified);
      if (sig?.failedCheck && !this.json) process.stderr.write(`Hint: failed check: ${sig.failedCheck} (${sig.code}); run with -v or \`docker sign policy explain ${args.reference}\` for every check\n`);
      process.exitCode = 1;
    }
  }
}
