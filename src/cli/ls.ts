/**
 * `docker sign ls IMAGE`: flags and behaviour, without oclif. src/commands/ls.ts (oclif: help, usage errors)
 * and the fast path (src/cli/fast.ts) both run this.
 */
import type { CommandIO } from './io.js';
import type { CommandSpec, FlagTable, ParsedCommand } from './spec.js';

export const spec = {
  args: [{ name: 'image', description: 'image reference (or tag/digest inside --oci-layout)' }],
  flags: {
    'oci-layout': { type: 'string', description: 'look in this OCI image layout directory' },
    local: { type: 'boolean', description: 'look in the local store (signatures not pushed yet)', default: false, exclusive: ['oci-layout'] },
    'insecure-registry': { type: 'boolean', description: 'allow plain HTTP to this registry (loopback registries always may)', default: false },
  } as const satisfies FlagTable,
} satisfies CommandSpec;

export async function run({ args, flags }: ParsedCommand<typeof spec.flags>, io: CommandIO): Promise<void> {
  const image = args.image!;
  const { openTarget, listSignatures } = await import('../signature/list.js');
  const registryOptions: { insecure?: string[] } = {};
  if (flags['insecure-registry'] && !flags['oci-layout'] && !flags.local) {
    const { parseReference } = await import('../oci/reference.js');
    registryOptions.insecure = [parseReference(image).registry];
  }
  const t = await openTarget(image, { ociLayout: flags['oci-layout'], local: flags.local, configPaths: io.paths, registryOptions });
  const subject = (await t.target.fetchManifest(t.selector)).descriptor;
  const sigs = await listSignatures(t.target, subject);
  io.emit({ reference: t.display, location: t.target.location, subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, signatures: sigs }, () => {
    const lines = [`${t.target.location}@${subject.digest}`];
    if (sigs.length === 0) {
      lines.push('└── (no signatures)');
      return lines.join('\n');
    }
    lines.push('└── application/vnd.cncf.notary.signature');
    sigs.forEach((s, i) => {
      const last = i === sigs.length - 1;
      const extra = [s.envelopeMediaType, s.created].filter(Boolean).join(', ');
      lines.push(`    ${last ? '└──' : '├──'} ${s.digest}${extra ? ` (${extra})` : ''}${s.problem ? ` [problem: ${s.problem}]` : ''}`);
    });
    return lines.join('\n');
  });
}
