/**
 * `docker generate manifest IMAGE`: flags and behaviour, without oclif. src/commands/generate/manifest.ts (oclif:
 * help, usage errors) and the fast path (src/cli/fast.ts) both run this.
 */
import type { CommandIO } from './io.js';
import type { CommandSpec, FlagTable, ParsedCommand } from './spec.js';

export const spec = {
  args: [{ name: 'image', description: 'local image (name[:tag], name@digest or image ID)' }],
  flags: {
    platform: { type: 'string', description: 'require the image to be for this platform (os/arch[/variant])' },
    'media-type': { type: 'string', description: 'manifest media types', options: ['oci', 'docker'], default: 'oci' },
    file: { type: 'string', char: 'f', description: 'also write the manifest bytes to FILE' },
    'compression-level': { type: 'integer', description: 'gzip level 1-9 (default 1 = fastest, or $DOCKER_SIGN_GZIP_LEVEL)', min: 1, max: 9 },
    force: { type: 'boolean', description: 'ignore the store and layer cache: read and compress every layer again', default: false },
    quiet: { type: 'boolean', char: 'q', description: 'no progress output', default: false },
  } as const satisfies FlagTable,
} satisfies CommandSpec;

export async function run({ args, flags }: ParsedCommand<typeof spec.flags>, io: CommandIO): Promise<void> {
  if (flags.file !== undefined) await checkOutputFile(flags.file, io);
  const [{ OciLayout }, { generateManifest }, { createLayerBars }] = await Promise.all([
    import('../oci/layout.js'),
    import('../docker/generate.js'),
    import('../docker/progress.js'),
  ]);
  const store = await OciLayout.open(io.paths.store, { create: true, blobsRequired: true });
  const bars = await createLayerBars({ quiet: flags.quiet || io.json });
  let r;
  try {
    r = await generateManifest(args.image!, {
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
  const result = r;
  if (flags.file === '-') {
    // the manifest bytes are the output; the digest goes to stderr
    process.stdout.write(r.manifest);
    io.info(result.descriptor.digest);
    return;
  }
  if (flags.file) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(flags.file, r.manifest);
  }
  io.emit(
    { ...result.descriptor, reference: result.storeTag ?? null, imageId: result.imageId, config: result.config, layers: result.layers, reused: result.reused, compressedLayers: result.compressedLayers },
    () => result.descriptor.digest,
  );
}

/** -f FILE: "-" is stdout (not with -o json, which is stdout too); never a file inside the local store. */
async function checkOutputFile(file: string, io: CommandIO): Promise<void> {
  const { InputError } = await import('../errors.js');
  if (file === '') throw new InputError('INVALID_FLAG', '-f/--file needs a file name (or - for stdout)');
  if (file === '-') {
    if (io.json) throw new InputError('INVALID_FLAG', '-f - and -o json both write to stdout', { hint: 'write the manifest to a file, or drop -o json' });
    return;
  }
  const { basename, dirname, join, resolve, sep } = await import('node:path');
  const { realpathSync } = await import('node:fs');
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  // the real folder the file goes into (symlinks resolved), against the store's real path
  const store = real(io.paths.store);
  const target = join(real(dirname(resolve(file))), basename(file));
  if (target === store || target.startsWith(store + sep)) {
    throw new InputError('INVALID_FLAG', `-f ${file} is inside the local store (${io.paths.store}), which docker-sign manages`, { hint: 'write the manifest somewhere else' });
  }
}
