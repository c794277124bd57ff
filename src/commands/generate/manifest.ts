import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';

export default class GenerateManifestCommand extends BaseCommand {
  static override summary = 'Build the OCI image manifest of a local image, so its digest is known before pushing';
  static override description = [
    'Reads the image from the Docker engine (the one your docker CLI uses: -H/--context, DOCKER_HOST, DOCKER_CONTEXT,',
    'current context), compresses its layers (deterministic gzip, cached by diff ID) and stores config, layers and',
    'manifest in the local content store (an OCI image layout under the config dir), tagged with the image reference.',
    'Prints the manifest digest; the same image always gives the same digest. `docker sign IMAGE` signs it and',
    '`docker sign push IMAGE` pushes exactly these bytes.',
    '',
    'The issue sketch used `-o FILE` for the manifest file, but -o/--output is the global output-format flag of every',
    'docker-sign command (-o json), so the manifest bytes are written with --file/-f FILE instead.',
  ].join('\n');
  static override examples = [
    'docker generate manifest localhost:5000/app:1',
    'docker generate manifest -o json localhost:5000/app:1',
    'docker generate manifest --media-type docker --file manifest.json localhost:5000/app:1',
    'docker -H unix:///run/other.sock generate manifest app:1',
  ];
  static override args = {
    image: Args.string({ description: 'local image (name[:tag], name@digest or image ID)', required: true }),
  };
  static override flags = {
    platform: Flags.string({ description: 'require the image to be for this platform (os/arch[/variant])' }),
    'media-type': Flags.string({ description: 'manifest media types', options: ['oci', 'docker'], default: 'oci' }),
    file: Flags.string({ char: 'f', description: 'also write the manifest bytes to FILE' }),
    'compression-level': Flags.integer({ description: 'gzip level 1-9 (default 1 = fastest, or $DOCKER_SIGN_GZIP_LEVEL)', min: 1, max: 9 }),
    force: Flags.boolean({ description: 'ignore the store and layer cache: read and compress every layer again', default: false }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(GenerateManifestCommand);
    const { OciLayout } = await import('../../oci/layout.js');
    const { generateManifest } = await import('../../docker/generate.js');
    const { createLayerBars } = await import('../../docker/progress.js');
    const store = await OciLayout.open(this.paths.store, { create: true });
    const bars = await createLayerBars({ quiet: flags.quiet || this.json });
    let r;
    try {
      r = await generateManifest(args.image, {
        store,
        mediaType: flags['media-type'] as 'oci' | 'docker',
        platform: flags.platform,
        level: flags['compression-level'],
        force: flags.force,
        progress: bars,
      });
    } finally {
      bars.stop();
    }
    if (flags.file) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(flags.file, r.manifest);
    }
    this.emit(
      { ...r.descriptor, reference: r.storeTag ?? null, imageId: r.imageId, config: r.config, layers: r.layers, reused: r.reused, compressedLayers: r.compressedLayers },
      () => r.descriptor.digest,
    );
  }
}
