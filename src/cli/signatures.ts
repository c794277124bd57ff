/**
 * What `docker sign ls` and `docker sign inspect` share: the same flags, and finding the image whose signatures they
 * show (in its registry, in an OCI image layout, or in the local store).
 */
import type { Descriptor } from '../oci/descriptor.js';
import type { CommandIO } from './io.js';
import type { CommandSpec, FlagTable, ParsedCommand } from './spec.js';

export const signaturesSpec = {
  args: [{ name: 'image', description: 'image reference (or tag/digest inside --oci-layout)' }],
  flags: {
    'oci-layout': { type: 'string', description: 'look in this OCI image layout directory' },
    local: { type: 'boolean', description: 'look in the local store (signatures not pushed yet)', default: false, exclusive: ['oci-layout'] },
    'insecure-registry': { type: 'boolean', description: 'allow plain HTTP to this registry (loopback registries always may)', default: false },
  } as const satisfies FlagTable,
} satisfies CommandSpec;

/** Opens where the image lives and resolves its manifest descriptor (the subject whose signatures are listed). */
export async function openSubject({ args, flags }: ParsedCommand<typeof signaturesSpec.flags>, io: CommandIO) {
  const image = args.image!;
  const { openTarget } = await import('../signature/list.js');
  const registryOptions: { insecure?: string[] } = {};
  if (flags['insecure-registry'] && !flags['oci-layout'] && !flags.local) {
    const { parseReference } = await import('../oci/reference.js');
    registryOptions.insecure = [parseReference(image).registry];
  }
  const t = await openTarget(image, { ociLayout: flags['oci-layout'], local: flags.local, configPaths: io.paths, registryOptions });
  const subject: Descriptor = (await t.target.fetchManifest(t.selector)).descriptor;
  return { t, subject, summary: { reference: t.display, location: t.target.location, subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } } };
}
