import { BaseCommand } from './base.js';
import { oclifArgs, oclifFlags } from './flags.js';
import { spec, run } from '../cli/verify.js';

/** oclif face of `verify` (help, usage errors); flags and behaviour live in src/cli/verify.ts (shared with the fast path). */
export default class VerifyCommand extends BaseCommand {
  static override summary = 'Verify the signatures of an image against the trust policy';
  static override description =
    'Finds the Notary Project signatures of the image (referrers), and checks them against the trust policy statement whose ' +
    'registryScopes match the repository: integrity, authenticity (trust store + trusted identities), expiry, authentic ' +
    'timestamp and revocation, enforced or logged per the statement\'s level. Exits 0 only when a signature satisfies the ' +
    'policy, 1 when none does. With -m key=value the satisfying signature must also carry that user metadata (signed with ' +
    '`docker sign -a` or `notation sign -m`), as notation verify --user-metadata does. Works with a notation config directory ' +
    'as is (--config-dir ~/.config/notation).';
  static override examples = [
    'docker sign verify localhost:5000/app:1',
    'docker sign verify localhost:5000/app@sha256:a983015660589b7152ba0db819cbf57a85570ff5cc05188b0a0554db444754ef -o json',
    'docker sign verify --oci-layout ./app-layout localhost:5000/app:1',
    'docker sign verify --insecure-registry registry.lan:5000/app:1',
    'docker sign verify -m buildId=123 -m branch=main localhost:5000/app:1',
    'docker sign verify --local localhost:5000/app:1   # the signature made by `docker sign` before the push',
  ];
  static override args = oclifArgs(spec);
  static override flags = oclifFlags(spec.flags);

  async run(): Promise<void> {
    const parsed = await this.parseSpec(VerifyCommand, spec);
    if (parsed.flags.local) {
      const { localImageManifest } = await import('../docker/local.js');
      const local = await localImageManifest(parsed.args.reference!, this.io.paths);
      await run(parsed, this.io, local);
      return;
    }
    await run(parsed, this.io);
  }
}
