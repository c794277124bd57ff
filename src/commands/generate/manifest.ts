import { BaseCommand, prose } from '../base.js';
import { oclifArgs, oclifFlags } from '../flags.js';
import { spec, run } from '../../cli/generate.js';

/** oclif face of `generate manifest` (help, usage errors); flags and behaviour live in src/cli/generate.ts (shared with the fast path). */
export default class GenerateManifestCommand extends BaseCommand {
  static override summary = 'Build the OCI image manifest of a local image, so its digest is known before pushing';
  static override description = prose([
    'Reads the image from the Docker engine (the one your docker CLI uses: -H/--context, DOCKER_HOST, DOCKER_CONTEXT,',
    'current context), compresses its layers (deterministic gzip, cached by diff ID) and stores config, layers and',
    'manifest in the local content store (an OCI image layout under the config dir), tagged with the image reference.',
    'Prints the manifest digest; the same image always gives the same digest. `docker sign IMAGE` signs it and',
    '`docker sign push IMAGE` pushes exactly these bytes.',
    '',
    '-o/--output is the output format, as in every docker-sign command (-o json); --file/-f FILE writes the',
    'manifest bytes to a file.',
  ]);
  static override examples = [
    'docker generate manifest localhost:5000/app:1',
    'docker generate manifest -o json localhost:5000/app:1',
    'docker generate manifest --media-type docker --file manifest.json localhost:5000/app:1',
    'docker -H unix:///run/other.sock generate manifest app:1',
  ];
  static override args = oclifArgs(spec);
  static override flags = oclifFlags(spec.flags);

  async run(): Promise<void> {
    await run(await this.parseSpec(GenerateManifestCommand, spec), this.io);
  }
}
