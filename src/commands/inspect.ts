import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './base.js';

export default class InspectCommand extends BaseCommand {
  static override summary = 'Show the details of the signatures of an image';
  static override description =
    'For each signature: envelope format and algorithm, signing scheme, signing time, expiry, signing agent, signed user metadata, ' +
    'the certificate chain (subjects, SHA-256 fingerprints, validity) and whether the envelope signature is intact. This is not ' +
    'verification against a trust policy; use `docker sign verify` for that.';
  static override examples = ['docker sign inspect localhost:5000/app:1', 'docker sign inspect -o json localhost:5000/app@sha256:…', 'docker sign inspect --local app:1'];
  static override args = { image: Args.string({ required: true, description: 'image reference (or tag/digest inside --oci-layout)' }) };
  static override flags = {
    'oci-layout': Flags.string({ description: 'look in this OCI image layout directory' }),
    local: Flags.boolean({ description: 'look in the local store (signatures not pushed yet)', default: false, exclusive: ['oci-layout'] }),
    'insecure-registry': Flags.boolean({ description: 'allow plain HTTP to this registry (loopback registries always may)', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(InspectCommand);
    const { openTarget, inspectSignatures } = await import('../signature/list.js');
    const registryOptions: { insecure?: string[] } = {};
    if (flags['insecure-registry'] && !flags['oci-layout'] && !flags.local) {
      const { parseReference } = await import('../oci/reference.js');
      registryOptions.insecure = [parseReference(args.image).registry];
    }
    const t = await openTarget(args.image, { ociLayout: flags['oci-layout'], local: flags.local, configPaths: this.paths, registryOptions });
    const subject = (await t.target.fetchManifest(t.selector)).descriptor;
    const sigs = await inspectSignatures(t.target, subject);
    this.emit({ reference: t.display, location: t.target.location, subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, signatures: sigs }, () => {
      const out = [`${t.target.location}@${subject.digest}`];
      if (sigs.length === 0) out.push('└── (no signatures)');
      sigs.forEach((s, i) => {
        const last = i === sigs.length - 1;
        const p = last ? '    ' : '│   ';
        out.push(`${last ? '└──' : '├──'} ${s.digest}`);
        const rows: string[] = [];
        if (s.problem || !s.envelope) rows.push(`problem: ${s.problem ?? 'envelope unavailable'}`);
        const e = s.envelope;
        if (e) {
          rows.push(`envelope: ${e.mediaType === 'application/cose' ? 'COSE' : 'JWS'} (${e.mediaType}), ${e.signatureAlgorithm}, ${e.digest}`);
          rows.push(`signing scheme: ${e.signingScheme}`);
          if (e.signingTime) rows.push(`signing time: ${e.signingTime}`);
          if (e.authenticSigningTime) rows.push(`authentic signing time: ${e.authenticSigningTime}`);
          rows.push(`expiry: ${e.expiry ? `${e.expiry}${e.expired ? ' (expired)' : ''}` : 'none'}`);
          rows.push(`signing agent: ${e.signingAgent ?? '-'}`);
          rows.push(`timestamp: ${e.timestamped ? 'present' : 'none'}`);
          rows.push(`integrity: ${e.integrity}${e.matchesSubject ? '' : ' — WARNING: signed target ' + e.targetArtifact.digest + ' is not this image'}`);
          const md = Object.entries(e.userMetadata);
          rows.push(`user metadata: ${md.length === 0 ? 'none' : md.map(([k, v]) => `${k}=${v}`).join(', ')}`);
          rows.push('certificates:');
          e.certificateChain.forEach((c, j) => {
            rows.push(`  [${j}] ${c.subject}`);
            rows.push(`      issuer: ${c.issuer}`);
            rows.push(`      SHA-256: ${c.sha256Fingerprint}`);
            rows.push(`      valid: ${c.notBefore} .. ${c.notAfter}`);
          });
        }
        for (const r of rows) out.push(`${p}${r}`);
      });
      return out.join('\n');
    });
  }
}
