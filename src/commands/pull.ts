import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './base.js';

export default class PullCommand extends BaseCommand {
  static override summary = 'Verify an image, then pull it by the verified digest';
  static override description =
    'Resolves REF to a digest, verifies the signatures of that digest against the trust policy (as `docker sign verify`), ' +
    'then asks the Docker engine to pull REPOSITORY@DIGEST — never the tag, so a tag moved in between cannot swap the ' +
    'image — and finally tags the pulled image locally with the original tag. Nothing is pulled when verification fails. ' +
    '--no-verify pulls by digest without verifying.';
  static override examples = [
    'docker sign pull localhost:5000/app:1',
    'docker sign pull localhost:5000/app@sha256:a983015660589b7152ba0db819cbf57a85570ff5cc05188b0a0554db444754ef',
    'docker sign pull --insecure-registry registry.lan:5000/app:1 -o json',
  ];
  static override args = { reference: Args.string({ required: true, description: 'image reference (tag or digest)' }) };
  static override flags = {
    verify: Flags.boolean({ description: 'verify before pulling', default: true, allowNo: true }),
    'insecure-registry': Flags.boolean({ description: 'use plain HTTP for the registry of REF (verification only; the engine uses its own settings)', default: false }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output', default: false }),
    'user-metadata': Flags.string({ char: 'm', description: 'key=value the signature must carry (as for verify); repeatable, one pair each', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parseCommon(PullCommand);
    const { parseReference, familiarReference, repositoryName } = await import('../oci/reference.js');
    const ref = parseReference(args.reference);
    const registryOptions = flags['insecure-registry'] ? { insecure: [ref.registry] } : {};
    let digest: string;
    let report;
    if (flags.verify) {
      const { verifyReference } = await import('../trust/index.js');
      const { failureMessage, loggedFailureWarnings } = await import('../trust/render.js');
      const { parseRequiredMetadata } = await import('../signature/annotations.js');
      const userMetadata = parseRequiredMetadata(flags['user-metadata']);
      report = await verifyReference(args.reference, { configPaths: this.paths, registryOptions, ...(userMetadata ? { userMetadata } : {}) });
      if (!report.verified) {
        if (this.json) this.emit({ reference: args.reference, pulled: false, verification: report }, () => '');
        process.stderr.write(`Error: ${failureMessage(report)}\n`);
        process.stderr.write('Hint: nothing was pulled; run `docker sign policy explain ' + args.reference + '` for every check\n');
        process.exitCode = 1;
        return;
      }
      for (const w of loggedFailureWarnings(report)) this.info(`Warning: ${w}`);
      if (!flags.quiet && !this.json) {
        this.info(report.level === 'skip' ? `Trust policy is configured to skip signature verification for ${report.reference}` : `Successfully verified signature for ${report.reference}`);
      }
      digest = report.digest;
    } else {
      const { openRepository } = await import('../registry/index.js');
      digest = ref.digest ?? (await openRepository(ref, registryOptions).fetchManifest(ref.tag ?? 'latest')).descriptor.digest;
    }
    const name = familiarReference({ registry: ref.registry, repository: ref.repository });
    const pinned = `${name}@${digest}`;
    const imageId = await pullByDigest(pinned, ref.registry, !flags.quiet && !this.json && process.stderr.isTTY === true);
    let tagged: string | undefined;
    if (ref.tag !== undefined) {
      await tagImage(pinned, name, ref.tag);
      tagged = `${name}:${ref.tag}`;
    }
    this.emit({ reference: args.reference, repository: repositoryName(ref), digest, pulled: pinned, imageId, tagged: tagged ?? null, verified: report?.verified ?? null, verification: report ?? null }, () =>
      [`Pulled ${pinned}`, ...(tagged ? [`Tagged ${tagged}`] : [])].join('\n'),
    );
  }
}

/** POST /images/create?fromImage=NAME@DIGEST through the engine; returns the image ID. The engine checks the digest. */
async function pullByDigest(pinned: string, registry: string, progress: boolean): Promise<string> {
  const { getEngine, engineError } = await import('../docker/engine.js');
  const { resolveCredentials } = await import('../registry/index.js');
  const { docker, endpoint } = await getEngine();
  const creds = await resolveCredentials(registry).catch(() => undefined);
  const authconfig = creds
    ? creds.identityToken
      ? { identitytoken: creds.identityToken, serveraddress: registry }
      : { username: creds.username, password: creds.password, serveraddress: registry }
    : undefined;
  try {
    const stream = (await docker.pull(pinned, authconfig ? { authconfig } : {})) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, out: { error?: string; errorDetail?: { message?: string } }[]) => {
          if (err) return reject(err);
          const bad = out.find((o) => o.error || o.errorDetail);
          if (bad) return reject(new Error(bad.errorDetail?.message ?? bad.error));
          resolve();
        },
        progress ? (ev: { status?: string; id?: string; progress?: string }) => process.stderr.write(`\r${ev.id ? `${ev.id}: ` : ''}${ev.status ?? ''} ${ev.progress ?? ''}\x1b[K${ev.progress ? '' : '\n'}`) : undefined,
      );
    });
    const info = await docker.getImage(pinned).inspect();
    const wanted = pinned.slice(pinned.lastIndexOf('@') + 1);
    if (!(info.RepoDigests ?? []).some((d) => d.endsWith(`@${wanted}`))) {
      const { DockerSignError, EXIT } = await import('../errors.js');
      throw new DockerSignError('DIGEST_MISMATCH', `the engine pulled ${pinned} but the image does not carry that digest (${(info.RepoDigests ?? []).join(', ')})`, { exitCode: EXIT.VERIFICATION_FAILED });
    }
    return info.Id;
  } catch (e) {
    throw engineError(e, endpoint, `pulling ${pinned}`, pinned);
  }
}

async function tagImage(pinned: string, repo: string, tag: string): Promise<void> {
  const { getEngine, engineError } = await import('../docker/engine.js');
  const { docker, endpoint } = await getEngine();
  try {
    await docker.getImage(pinned).tag({ repo, tag });
  } catch (e) {
    throw engineError(e, endpoint, `tagging ${pinned} as ${repo}:${tag}`);
  }
}
