import { BaseCommand, prose } from './base.js';
import { oclifArgs, oclifFlags } from './flags.js';
import { spec, run } from '../cli/sign.js';

/** oclif face of `sign` (help, usage errors); flags and behaviour live in src/cli/sign.ts (shared with the fast path). */
export default class SignCommand extends BaseCommand {
  static override summary = 'Sign an image: a local image (kept until `docker sign push`) or a remote reference';
  static override description = prose([
    'Creates a Notary Project signature (JWS or COSE envelope, notation-compatible) for an image manifest.',
    '',
    'Where: with --oci-layout PATH the image is a tag or digest inside that OCI image layout (offline). Otherwise, a',
    'reference pinned by digest is signed in its registry; a local image (Docker engine) that was not pushed to that',
    'repository yet is signed locally (its manifest is generated as `docker generate manifest` does, and the signature',
    'is kept in the local store until `docker sign push`); any other reference (including a local image docker already',
    'pushed to or pulled from that repository) is resolved in its registry once (tag → digest) and the digest is',
    'signed. --local / --remote force the choice.',
    '',
    'User metadata (-a key=value) is signed: it goes into the payload as targetArtifact annotations.',
  ]);
  static override examples = [
    'docker sign localhost:5000/app:1',
    'docker sign --key wabbit-ec --signature-format cose localhost:5000/app@sha256:…',
    'docker sign -a env=prod -a build=42 --expiry 30d localhost:5000/app:1   # (-m key=value, notation\'s name, works too)',
    'docker sign app:1                       # local image: sign now, push later with `docker sign push`',
    'docker sign --oci-layout ./layout app:1 # offline, into the layout',
    'docker sign --timestamp-url http://timestamp.example/tsa --timestamp-root-cert tsa-root.pem localhost:5000/app:1',
  ];
  static override args = oclifArgs(spec);
  static override flags = oclifFlags(spec.flags);

  async run(): Promise<void> {
    await run(await this.parseSpec(SignCommand, spec), this.io);
  }
}
