import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './base.js';

export default class PushCommand extends BaseCommand {
  static override summary = 'Push a local image, its signatures and their referrer links to the registry';
  static override description = [
    'Pushes the manifest generated for the local image (`docker generate manifest`; generated now if missing or if',
    'the image changed since), its config and layer blobs, then every signature stored locally for that manifest',
    '(made by `docker sign IMAGE` before the push) and their referrer links (Referrers API, or the referrers tag',
    'schema on registries without it). Blobs the registry already has are skipped; blobs pushed before to another',
    'repository of the same registry are mounted. Re-run after a failure to resume: finished blobs are not uploaded',
    'again. The digest printed is the manifest digest that was signed.',
  ].join('\n');
  static override examples = [
    'docker sign push localhost:5000/app:1',
    'docker sign push -q -o json localhost:5000/app:1',
    'docker sign push --media-type docker registry.example.com/team/app:2',
  ];
  static override args = {
    image: Args.string({ description: 'local image, named with the registry to push to (REGISTRY/REPO:TAG)', required: true }),
  };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'no progress output', default: false }),
    'media-type': Flags.string({ description: 'manifest media types when the manifest has to be generated', options: ['oci', 'docker'] }),
    platform: Flags.string({ description: 'require the image to be for this platform (os/arch[/variant])' }),
    'compression-level': Flags.integer({ description: 'gzip level 1-9 when generating (default 1 = fastest, or $DOCKER_SIGN_GZIP_LEVEL)', min: 1, max: 9 }),
    concurrency: Flags.integer({ description: 'parallel blob uploads', default: 4, min: 1, max: 32 }),
    'no-signatures': Flags.boolean({ description: 'do not push locally stored signatures', default: false }),
    'insecure-registry': Flags.boolean({ description: 'allow plain HTTP to the registry of IMAGE (loopback registries always may)', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(PushCommand);
    const { OciLayout } = await import('../oci/layout.js');
    const { pushImage } = await import('../docker/push.js');
    const { createLayerBars } = await import('../docker/progress.js');
    const { parseReference } = await import('../oci/reference.js');
    const store = await OciLayout.open(this.paths.store, { create: true });
    const quiet = flags.quiet || this.json;
    const bars = await createLayerBars({ quiet });
    let r;
    try {
      r = await pushImage(args.image, {
        store,
        mediaType: flags['media-type'] as 'oci' | 'docker' | undefined,
        platform: flags.platform,
        level: flags['compression-level'],
        concurrency: flags.concurrency,
        progress: bars,
        skipReferrers: flags['no-signatures'],
        registry: flags['insecure-registry'] ? { insecure: [parseReference(args.image).registry] } : {},
        log: quiet ? undefined : (m) => { bars.stop(); this.info(m); },
      });
    } finally {
      bars.stop();
      const { closeConnections } = await import('../registry/index.js');
      await closeConnections().catch(() => undefined);
    }
    this.emit(
      { reference: r.reference, digest: r.digest, size: r.size, mediaType: r.mediaType, generated: r.generated, signatures: r.signatures, blobs: r.blobs },
      () => [
        `${r.reference}: digest: ${r.digest} size: ${r.size}`,
        ...(r.signatures.length ? [`signatures: ${r.signatures.length} pushed (${r.signatures.map((s) => s.digest).join(', ')})`] : []),
      ].join('\n'),
    );
  }
}
