import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './base.js';

export default class LsCommand extends BaseCommand {
  static override summary = 'List the signatures of an image';
  static override description = 'Shows the image digest and, under it, every signature manifest (artifact type application/vnd.cncf.notary.signature) with its envelope media type. Listing does not verify anything; use `docker sign verify`.';
  static override examples = ['docker sign ls localhost:5000/app:1', 'docker sign ls -o json localhost:5000/app@sha256:…', 'docker sign ls --local app:1', 'docker sign ls --oci-layout ./layout app:1'];
  static override args = { image: Args.string({ required: true, description: 'image reference (or tag/digest inside --oci-layout)' }) };
  static override flags = {
    'oci-layout': Flags.string({ description: 'look in this OCI image layout directory' }),
    local: Flags.boolean({ description: 'look in the local store (signatures not pushed yet)', default: false, exclusive: ['oci-layout'] }),
    'insecure-registry': Flags.boolean({ description: 'allow plain HTTP to this registry (loopback registries always may)', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(LsCommand);
    const { openTarget, listSignatures } = await import('../signature/list.js');
    const registryOptions: { insecure?: string[] } = {};
    if (flags['insecure-registry'] && !flags['oci-layout'] && !flags.local) {
      const { parseReference } = await import('../oci/reference.js');
      registryOptions.insecure = [parseReference(args.image).registry];
    }
    const t = await openTarget(args.image, { ociLayout: flags['oci-layout'], local: flags.local, configPaths: this.paths, registryOptions });
    const subject = (await t.target.fetchManifest(t.selector)).descriptor;
    const sigs = await listSignatures(t.target, subject);
    this.emit({ reference: t.display, location: t.target.location, subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, signatures: sigs }, () => {
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
}
