import { run, flush, handle } from '@oclif/core';
import { splitPluginArgv, routeArgs, applyGlobalsToEnv, PluginArgvError } from '../plugins/cli/argv.js';

/**
 * Entry point behind bin/docker-sign.js and bin/docker-generate.js (the metadata answer is given by the bin
 * shims themselves, before this module is loaded).
 */
export async function main(name: 'sign' | 'generate', argv: string[]): Promise<void> {
  // `docker sign --help | head`: a closed pipe ends the output, it is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  let args: string[];
  try {
    if (process.env.DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND) {
      const split = splitPluginArgv(name, argv);
      applyGlobalsToEnv(split.globals, process.env);
      args = split.args;
    } else {
      args = name === 'generate' ? routeArgs('generate', argv) : routeArgs('sign', argv);
    }
  } catch (e) {
    if (e instanceof PluginArgvError) {
      process.stderr.write(`Error: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  try {
    await run(args, import.meta.url);
    await flush();
  } catch (e) {
    await handle(e as Error);
  }
}

