/**
 * `docker sign push IMAGE`: flags and behaviour, without oclif. src/commands/push.ts (oclif: help, usage errors)
 * and the fast path (src/cli/fast.ts) both run this.
 */
import type { CommandIO } from './io.js';
import type { CommandSpec, FlagTable, ParsedCommand } from './spec.js';

export const spec = {
  args: [{ name: 'image', description: 'local image, named with the registry to push to (REGISTRY/REPO:TAG)' }],
  flags: {
    quiet: { type: 'boolean', char: 'q', description: 'no progress output', default: false },
    'media-type': { type: 'string', description: 'manifest media types when the manifest has to be generated', options: ['oci', 'docker'] },
    platform: { type: 'string', description: 'require the image to be for this platform (os/arch[/variant])' },
    'compression-level': { type: 'integer', description: 'gzip level 1-9 when generating (default 1 = fastest, or $DOCKER_SIGN_GZIP_LEVEL)', min: 1, max: 9 },
    concurrency: { type: 'integer', description: 'parallel blob uploads', default: 4, min: 1, max: 32 },
    'no-signatures': { type: 'boolean', description: 'do not push locally stored signatures', default: false, exclusive: ['sign'] },
    sign: { type: 'boolean', description: 'sign the image first (with --key, else the default key) unless a signature made with that key is already stored for it', default: false },
    key: { type: 'string', char: 'k', description: 'signing key for --sign (default: the default key)' },
    'signature-format': { type: 'string', description: 'envelope format for --sign', options: ['jws', 'cose'], default: 'jws' },
    'insecure-registry': { type: 'boolean', description: 'allow plain HTTP to the registry of IMAGE (loopback registries always may)', default: false },
  } as const satisfies FlagTable,
} satisfies CommandSpec;

export async function run({ args, flags }: ParsedCommand<typeof spec.flags>, io: CommandIO): Promise<void> {
  const image = args.image!;
  if (!flags.sign && (flags.key !== undefined || flags['signature-format'] !== 'jws')) {
    const { InputError } = await import('../errors.js');
    throw new InputError('FLAG_NEEDS_SIGN', `${flags.key !== undefined ? '--key' : '--signature-format'} only applies with --sign`, {
      hint: `add --sign to sign the image before it is pushed (docker push --sign ${image}), or drop the flag`,
    });
  }
  const [{ OciLayout }, { pushImage }, { createLayerBars }, { parseReference }, { closeConnections }] = await Promise.all([
    import('../oci/layout.js'),
    import('../docker/push.js'),
    import('../docker/progress.js'),
    import('../oci/reference.js'),
    import('../registry/index.js'),
  ]);
  // opened (created on first use) while the engine is asked about the image
  const storeIsNew = !(process.getBuiltinModule('node:fs') as typeof import('node:fs')).existsSync(`${io.paths.store}/oci-layout`);
  const store = OciLayout.open(io.paths.store, { create: true, blobsRequired: true });
  store.catch(() => undefined); // reported by pushImage
  const quiet = flags.quiet || io.json;
  const bars = await createLayerBars({ quiet });
  let r;
  let signing: Awaited<ReturnType<typeof import('../signature/sign.js').signLocalUnlessSigned>> | undefined;
  try {
    if (flags.sign) {
      // Signed into the store first, for the manifest push then uploads (same flavor, so push reuses it as it is).
      const { signLocalUnlessSigned } = await import('../signature/sign.js');
      signing = await signLocalUnlessSigned({
        configPaths: io.paths, keyName: flags.key, format: flags['signature-format'] as 'jws' | 'cose', image,
        mediaType: flags['media-type'] as 'oci' | 'docker' | undefined, progress: bars,
      });
      if (!quiet) {
        bars.stop();
        io.info('signed' in signing
          ? `Signed ${signing.signed.reference} with key ${signing.signed.keyName ?? '-'} (signature ${signing.signed.signatureManifest.digest})`
          : `${signing.reference} is already signed with key ${signing.keyName ?? '-'} (signature ${signing.existing.digest})`);
      }
    }
    r = await pushImage(image, {
      store,
      storeIsNew,
      mediaType: flags['media-type'] as 'oci' | 'docker' | undefined,
      platform: flags.platform,
      level: flags['compression-level'],
      concurrency: flags.concurrency,
      progress: bars,
      skipReferrers: flags['no-signatures'],
      registry: flags['insecure-registry'] ? { insecure: [parseReference(image).registry] } : {},
      log: quiet ? undefined : (m) => { bars.stop(); io.info(m); },
    });
  } finally {
    bars.stop();
    await closeConnections().catch(() => undefined);
  }
  const result = r;
  if (!quiet && !flags['no-signatures'] && result.signatures.length === 0) {
    io.info(`Warning: no signature went with ${result.reference}: sign it first (docker sign ${image}), or push with --sign`);
  }
  io.emit(
    {
      reference: result.reference, digest: result.digest, size: result.size, mediaType: result.mediaType, generated: result.generated, signatures: result.signatures, blobs: result.blobs,
      ...(signing ? { signed: 'signed' in signing ? { signature: signing.signed.signatureManifest.digest, key: signing.signed.keyName ?? null, new: true } : { signature: signing.existing.digest, key: signing.keyName ?? null, new: false } } : {}),
    },
    () => [
      `${result.reference}: digest: ${result.digest} size: ${result.size}`,
      ...(result.signatures.length ? [`signatures: ${result.signatures.length} pushed (${result.signatures.map((s) => s.digest).join(', ')})`] : []),
    ].join('\n'),
  );
}
