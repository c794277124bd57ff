import { BaseCommand, prose } from './base.js';
import { oclifArgs, oclifFlags } from './flags.js';
import { spec, run } from '../cli/push.js';

/** oclif face of `push` (help, usage errors); flags and behaviour live in src/cli/push.ts (shared with the fast path). */
export default class PushCommand extends BaseCommand {
  static override summary = 'Push a local image, its signatures and their referrer links to the registry';
  static override description = prose([
    'Pushes the manifest generated for the local image (`docker generate manifest`; generated now if missing or if',
    'the image changed since), its config and layer blobs, then every signature stored locally for that manifest',
    '(made by `docker sign IMAGE` before the push) and their referrer links (Referrers API, or the referrers tag',
    'schema on registries without it). Blobs the registry already has are skipped; blobs pushed before to another',
    'repository of the same registry are mounted. Re-run after a failure to resume: finished blobs are not uploaded',
    'again. The digest printed is the manifest digest that was signed. With --sign the image is signed first (default',
    'key, or --key) unless a signature made with that key is already stored for this build; `docker push --sign IMAGE`',
    '(the wrapper of `docker sign install --shell`) runs exactly that. A push that carries no signature warns.',
  ]);
  static override examples = [
    'docker sign push localhost:5000/app:1',
    'docker sign push -q -o json localhost:5000/app:1',
    'docker sign push --media-type docker registry.example.com/team/app:2',
    'docker sign push --sign localhost:5000/app:1',
    'docker sign push --sign --key release --signature-format cose registry.example.com/team/app:2',
  ];
  static override args = oclifArgs(spec);
  static override flags = oclifFlags(spec.flags);

  async run(): Promise<void> {
    await run(await this.parseSpec(PushCommand, spec), this.io);
  }
}
