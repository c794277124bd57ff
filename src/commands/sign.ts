import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './base.js';

export default class SignCommand extends BaseCommand {
  static override summary = 'Sign an image: a local image (kept until `docker sign push`) or a remote reference';
  static override description = [
    'Creates a Notary Project signature (JWS or COSE envelope, notation-compatible) for an image manifest.',
    '',
    'Where: with --oci-layout PATH the image is a tag or digest inside that OCI image layout (offline). Otherwise, a',
    'reference pinned by digest is signed in its registry; a local image (Docker engine) that was not pushed to that',
    'repository yet is signed locally (its manifest is generated as `docker generate manifest` does, and the signature',
    'is kept in the local store until `docker sign push`); any other reference (including a local image docker already',
    'pushed to or pulled from that repository) is resolved in its registry once (tag → digest) and the digest is',
    'signed. --local / --remote force the choice.',
    '',
    'User metadata (-a key=value) is signed: it goes into the payload as targetArtifact annotations.',
  ].join('\n');
  static override examples = [
    'docker sign localhost:5000/app:1',
    'docker sign --key wabbit-ec --signature-format cose localhost:5000/app@sha256:…',
    'docker sign -a env=prod -a build=42 --expiry 30d localhost:5000/app:1',
    'docker sign app:1                       # local image: sign now, push later with `docker sign push`',
    'docker sign --oci-layout ./layout app:1 # offline, into the layout',
  ];
  static override args = { image: Args.string({ required: true, description: 'image reference (or tag/digest inside --oci-layout)' }) };
  static override flags = {
    key: Flags.string({ char: 'k', description: 'signing key name (default: the default key)' }),
    'signature-format': Flags.string({ description: 'envelope format', options: ['jws', 'cose'], default: 'jws' }),
    annotation: Flags.string({ char: 'a', description: 'signed user metadata key=value (repeatable)', multiple: true, multipleNonGreedy: true }),
    expiry: Flags.string({ char: 'e', description: 'signature expiry as a duration from now (e.g. 24h, 30d, 1h30m)' }),
    'oci-layout': Flags.string({ description: 'sign a manifest in this OCI image layout directory (offline)' }),
    'insecure-registry': Flags.boolean({ description: 'allow plain HTTP to this registry (loopback registries always may)', default: false }),
    local: Flags.boolean({ description: 'sign the local image (Docker engine) and keep the signature until `docker sign push`', default: false, exclusive: ['remote', 'oci-layout'] }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output', default: false }),
    remote: Flags.boolean({ description: 'sign the image in its registry even if a local image has the same name', default: false, exclusive: ['local', 'oci-layout'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(SignCommand);
    const sign = await import('../signature/sign.js');
    const common = {
      configPaths: this.paths,
      keyName: flags.key,
      format: flags['signature-format'] as 'jws' | 'cose',
      annotations: sign.parseAnnotations(flags.annotation),
      expiry: flags.expiry ? sign.parseDuration(flags.expiry) : undefined,
    };
    let mode: 'layout' | 'local' | 'remote';
    if (flags['oci-layout']) mode = 'layout';
    else if (flags.local) mode = 'local';
    else if (flags.remote) mode = 'remote';
    else {
      const choice = await sign.chooseSignMode(args.image);
      mode = choice.mode;
      if (!this.json && !flags.quiet) this.info(`Signing the ${mode === 'local' ? 'local image' : 'image in its registry'} (${choice.reason}; --local/--remote to choose)`);
    }

    let r: Awaited<ReturnType<typeof sign.signRemote>> & { imageId?: string };
    if (mode === 'layout') {
      r = await sign.signLayout({ ...common, layoutPath: flags['oci-layout']!, reference: args.image });
    } else if (mode === 'local') {
      // Generating the manifest of a new local image reads and compresses its layers: show progress (TTY only).
      const { createLayerBars } = await import('../docker/progress.js');
      const bars = await createLayerBars({ quiet: flags.quiet || this.json });
      try {
        r = await sign.signLocal({ ...common, image: args.image, progress: bars });
      } finally {
        bars.stop();
      }
    } else {
      const registryOptions: { insecure?: string[] } = {};
      if (flags['insecure-registry']) {
        const { parseReference } = await import('../oci/reference.js');
        registryOptions.insecure = [parseReference(args.image).registry];
      }
      r = await sign.signRemote({ ...common, reference: args.image, registryOptions });
    }
    const data = {
      mode,
      reference: r.reference,
      location: r.location,
      subject: r.subject,
      signature: r.signatureManifest,
      envelopeMediaType: r.envelope.mediaType,
      key: r.keyName,
      signatureAlgorithm: r.signatureAlgorithm,
      signingTime: r.signingTime,
      ...(r.expiry ? { expiry: r.expiry } : {}),
      ...(common.annotations ? { userMetadata: common.annotations } : {}),
      ...(mode === 'local' ? { pending: true, imageId: r.imageId } : {}),
    };
    this.emit(data, () => {
      const fmt = r.envelope.mediaType === 'application/cose' ? 'COSE' : 'JWS';
      const lines = [
        `Successfully signed ${r.reference}`,
        `  signature: ${r.signatureManifest.digest} (${fmt}, ${r.signatureAlgorithm}, key ${r.keyName ?? '-'})`,
      ];
      if (mode === 'local') lines.push(`  stored locally; run 'docker sign push ${args.image}' to push the image and its signatures`);
      if (mode === 'remote' && !sign.hasDigest(args.image)) lines.push(`  (the tag was resolved once to ${r.subject.digest}; that digest is what is signed)`);
      return lines.join('\n');
    });
  }
}
