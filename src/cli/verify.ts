/**
 * `docker sign verify REF`: flags and behaviour, without oclif. src/commands/verify.ts (oclif: help, usage errors)
 * and the fast path (src/cli/fast.ts) both run this.
 */
import type { CommandIO } from './io.js';
import type { CommandSpec, FlagTable, ParsedCommand } from './spec.js';
import { writeStderr, writeStdout } from './out.js';

export const spec = {
  args: [{ name: 'reference', description: 'image reference (tag or digest)' }],
  flags: {
    'oci-layout': { type: 'string', description: 'verify offline from this OCI image layout directory (REF names the repository for the trust policy, its tag/digest the image)' },
    'insecure-registry': { type: 'boolean', description: 'use plain HTTP for the registry of REF', default: false },
    'max-signatures': { type: 'integer', description: 'maximum number of signatures to evaluate', default: 100, min: 1 },
    verbose: { type: 'boolean', char: 'v', description: 'print each check of each signature', default: false },
    local: {
      type: 'boolean', default: false, exclusive: ['oci-layout'], slowPath: true,
      description: 'verify the signatures kept in the local store for a local image (signed with docker sign IMAGE, not pushed yet), checked to be for the image the engine has now',
    },
    'user-metadata': { type: 'string', char: 'm', description: 'key=value the signature must carry (signed with docker sign -a / notation sign -m); repeatable, one pair each', multiple: true },
  } as const satisfies FlagTable,
} satisfies CommandSpec;

/**
 * `local`: with --local, the stored manifest of the local image (src/docker/local.ts, resolved by the oclif command
 * so that the Docker code stays out of the fast bundle): verification then runs against the local store.
 */
export async function run({ args, flags }: ParsedCommand<typeof spec.flags>, io: CommandIO,
  local?: { store: import('../oci/target.js').ArtifactTarget; reference: string }): Promise<void> {
  const reference = local?.reference ?? args.reference!;
  // Load the modules this needs in parallel (each is a separate chunk of the bundle).
  const [{ verifyReference }, { explainReport, failureMessage, loggedFailureWarnings, userMetadataTable }, { parseReference }, layout, { parseRequiredMetadata }] = await Promise.all([
    import('../trust/index.js'),
    import('../trust/render.js'),
    import('../oci/reference.js'),
    flags['oci-layout'] ? import('../oci/layout.js') : undefined,
    import('../signature/annotations.js'),
  ]);
  const userMetadata = parseRequiredMetadata(flags['user-metadata']);
  const target = local?.store ?? (layout && flags['oci-layout'] ? await layout.OciLayout.open(flags['oci-layout']) : undefined);
  const ref = parseReference(reference);
  if (!ref.digest && !io.json) {
    io.info(`Warning: Always verify the artifact using digest(@sha256:...) rather than a tag(:${ref.tag ?? 'latest'}) because resolved digest may not point to the same signed artifact, as tags are mutable.`);
  }
  const report = await verifyReference(reference, {
    configPaths: io.paths,
    ...(target ? { target } : {}),
    registryOptions: flags['insecure-registry'] ? { insecure: [ref.registry] } : {},
    maxSignatures: flags['max-signatures'],
    ...(userMetadata ? { userMetadata } : {}),
  });
  if (io.json) {
    io.emit(report, () => '');
  } else {
    if (flags.verbose) writeStderr(explainReport(report) + '\n');
    else for (const w of loggedFailureWarnings(report)) io.info(`Warning: ${w}`);
    if (report.verified) {
      writeStdout(
        report.level === 'skip'
          ? `Trust policy is configured to skip signature verification for ${report.reference}\n`
          : `Successfully verified signature for ${report.reference}\n${report.userMetadata ? `\n${userMetadataTable(report.userMetadata)}` : ''}`,
      );
    }
  }
  if (!report.verified) {
    writeStderr(`Error: ${failureMessage(report)}\n`);
    const sig = report.signatures.find((s) => !s.verified);
    if (sig?.failedCheck && !io.json) writeStderr(`Hint: failed check: ${sig.failedCheck} (${sig.code}); run with -v or \`docker sign policy explain ${reference}\` for every check\n`);
    process.exitCode = 1;
  }
}
