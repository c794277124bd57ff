import { BaseCommand } from './base.js';
import { oclifArgs, oclifFlags } from './flags.js';
import { spec, run } from '../cli/inspect.js';

/** oclif face of `inspect`; flags and behaviour live in src/cli/inspect.ts (shared with the fast path). */
export default class InspectCommand extends BaseCommand {
  static override summary = 'Show the details of the signatures of an image';
  static override description =
    'For each signature: envelope format and algorithm, signing scheme, signing time, expiry, signing agent, signed user metadata, ' +
    'the certificate chain (subjects, SHA-256 fingerprints, validity) and whether the envelope signature is intact. This is not ' +
    'verification against a trust policy; use `docker sign verify` for that.';
  static override examples = ['docker sign inspect localhost:5000/app:1', 'docker sign inspect -o json localhost:5000/app@sha256:…', 'docker sign inspect --local app:1'];
  static override args = oclifArgs(spec);
  static override flags = oclifFlags(spec.flags);

  async run(): Promise<void> {
    await run(await this.parseSpec(InspectCommand, spec), this.io);
  }
}
