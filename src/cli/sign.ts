/**
 * `docker sign [sign] IMAGE`: flags and behaviour, without oclif. src/commands/sign.ts (oclif: help, usage errors)
 * and the fast path (src/cli/fast.ts) both run this.
 */
import type { CommandIO } from './io.js';
import type { CommandSpec, FlagTable, ParsedCommand } from './spec.js';

export const spec = {
  args: [{ name: 'image', description: 'image reference (or tag/digest inside --oci-layout)' }],
  flags: {
    key: { type: 'string', char: 'k', description: 'signing key name (default: the default key)' },
    'signature-format': { type: 'string', description: 'envelope format', options: ['jws', 'cose'], default: 'jws' },
    annotation: { type: 'string', char: 'a', description: 'signed user metadata key=value (repeatable)', multiple: true },
    'user-metadata': { type: 'string', char: 'm', description: 'the same as --annotation, under notation sign\'s name', multiple: true },
    expiry: { type: 'string', char: 'e', description: 'signature expiry as a duration from now (e.g. 24h, 30d, 1h30m)' },
    'timestamp-url': { type: 'string', description: 'RFC 3161 timestamp authority URL: the signature gets a trusted timestamp (needs --timestamp-root-cert)' },
    'timestamp-root-cert': { type: 'string', description: 'root certificate (PEM or DER file) the timestamp authority\'s answer must chain to' },
    'oci-layout': { type: 'string', description: 'sign a manifest in this OCI image layout directory (offline)' },
    'insecure-registry': { type: 'boolean', description: 'allow plain HTTP to this registry (loopback registries always may)', default: false },
    local: { type: 'boolean', description: 'sign the local image (Docker engine) and keep the signature until `docker sign push`', default: false, exclusive: ['remote', 'oci-layout'] },
    quiet: { type: 'boolean', char: 'q', description: 'no progress output', default: false },
    remote: { type: 'boolean', description: 'sign the image in its registry even if a local image has the same name', default: false, exclusive: ['local', 'oci-layout'] },
  } as const satisfies FlagTable,
} satisfies CommandSpec;

export async function run({ args, flags }: ParsedCommand<typeof spec.flags>, io: CommandIO): Promise<void> {
  const image = args.image!;
  const sign = await import('../signature/sign.js');
  const timestamp = await timestampOption(flags['timestamp-url'], flags['timestamp-root-cert']);
  const common = {
    ...(timestamp ? { timestamp } : {}),
    configPaths: io.paths,
    keyName: flags.key,
    format: flags['signature-format'] as 'jws' | 'cose',
    annotations: sign.parseUserMetadata([...(flags.annotation ?? []), ...(flags['user-metadata'] ?? [])]),
    expiry: flags.expiry ? sign.parseExpiry(flags.expiry) : undefined,
  };
  let mode: 'layout' | 'local' | 'remote';
  if (flags['oci-layout']) mode = 'layout';
  else if (flags.local) mode = 'local';
  else if (flags.remote) mode = 'remote';
  else {
    const choice = await sign.chooseSignMode(image);
    mode = choice.mode;
    if (!io.json && !flags.quiet) io.info(`Signing the ${mode === 'local' ? 'local image' : 'image in its registry'} (${choice.reason}; --local/--remote to choose)`);
  }

  let r: Awaited<ReturnType<typeof sign.signRemote>> & { imageId?: string };
  if (mode === 'layout') {
    r = await sign.signLayout({ ...common, layoutPath: flags['oci-layout']!, reference: image });
  } else if (mode === 'local') {
    // Generating the manifest of a new local image reads and compresses its layers: show progress (TTY only).
    const { createLayerBars } = await import('../docker/progress.js');
    const bars = await createLayerBars({ quiet: flags.quiet || io.json });
    try {
      r = await sign.signLocal({ ...common, image, progress: bars });
    } finally {
      bars.stop();
    }
  } else {
    const registryOptions: { insecure?: string[] } = {};
    if (flags['insecure-registry']) {
      const { parseReference } = await import('../oci/reference.js');
      registryOptions.insecure = [parseReference(image).registry];
    }
    r = await sign.signRemote({ ...common, reference: image, registryOptions });
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
  io.emit(data, () => {
    const fmt = r.envelope.mediaType === 'application/cose' ? 'COSE' : 'JWS';
    const lines = [
      `Successfully signed ${r.reference}`,
      `  signature: ${r.signatureManifest.digest} (${fmt}, ${r.signatureAlgorithm}, key ${r.keyName ?? '-'})`,
    ];
    if (mode === 'local') {
      // an image ID names no repository to push to: the image needs a name first
      lines.push(/^(sha256:)?[0-9a-f]{12,64}$/.test(image)
        ? `  stored locally; name the image (docker tag ${image} REGISTRY/REPO:TAG), then 'docker sign push REGISTRY/REPO:TAG' pushes it and its signatures`
        : `  stored locally; run 'docker sign push ${image}' to push the image and its signatures`);
    }
    if (mode === 'remote' && !sign.hasDigest(image)) lines.push(`  (the tag was resolved once to ${r.subject.digest}; that digest is what is signed)`);
    return lines.join('\n');
  });
}

/** --timestamp-url and --timestamp-root-cert come together (as in notation); the root is read and parsed up front. */
async function timestampOption(url: string | undefined, rootFile: string | undefined) {
  if (url === undefined && rootFile === undefined) return undefined;
  const { InputError } = await import('../errors.js');
  if (url === undefined || rootFile === undefined) {
    throw new InputError('TIMESTAMP_FLAGS', `--timestamp-url and --timestamp-root-cert go together (${url === undefined ? '--timestamp-url' : '--timestamp-root-cert'} is missing)`);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError('TIMESTAMP_FLAGS', `--timestamp-url ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError('TIMESTAMP_FLAGS', `--timestamp-url must be http(s), not ${u.protocol}`);
  const { readFile } = await import('node:fs/promises');
  let bytes: Buffer;
  try {
    bytes = await readFile(rootFile);
  } catch (e) {
    throw new InputError('TIMESTAMP_FLAGS', `cannot read --timestamp-root-cert ${rootFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { parseRootCertificates } = await import('../signature/tsa.js');
  return { url: u.href, roots: parseRootCertificates(bytes, rootFile) };
}
