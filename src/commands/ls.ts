import { BaseCommand } from './base.js';
import { oclifArgs, oclifFlags } from './flags.js';
import { spec, run } from '../cli/ls.js';

/** oclif face of `ls`; flags and behaviour live in src/cli/ls.ts (shared with the fast path). */
export default class LsCommand extends BaseCommand {
  static override summary = 'List the signatures of an image';
  static override description = 'Shows the image digest and, under it, every signature manifest (artifact type application/vnd.cncf.notary.signature) with its envelope media type. Listing does not verify anything; use `docker sign verify`.';
  static override examples = ['docker sign ls localhost:5000/app:1', 'docker sign ls -o json localhost:5000/app@sha256:…', 'docker sign ls --local app:1', 'docker sign ls --oci-layout ./layout app:1'];
  static override args = oclifArgs(spec);
  static override flags = oclifFlags(spec.flags);

  async run(): Promise<void> {
    await run(await this.parseSpec(LsCommand, spec), this.io);
  }
}
