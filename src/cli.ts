import { splitPluginArgv, routeArgs, applyGlobalsToEnv, PluginArgvError } from '../plugins/cli/argv.js';
import { asksForHelp, isFastCommandId, type FastCommandId } from './cli/fast-ids.js';
import { requireBundle } from './cli/codecache.js';
import { writeStderr, quietOnClosedStdout } from './cli/out.js';
import { adoptExtraCaCerts } from './registry/tls-roots.js';
import { dropEarlyGets } from './docker/early.js';

/**
 * The fast-path entry of a hot command: built, dist/fast/<id>.cjs next to this module (one CommonJS file per
 * command, src/cli/fast/<id>.ts bundled alone), loaded with a V8 code cache (src/cli/codecache.ts); run from the
 * sources (tests), src/cli/fast/<id>.ts.
 */
async function loadFastEntry(id: FastCommandId): Promise<{ runFast(args: readonly string[]): Promise<boolean> }> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    const { fileURLToPath } = process.getBuiltinModule('node:url') as typeof import('node:url');
    return requireBundle(fileURLToPath(new URL(`./fast/${id}.cjs`, here)), id) as { runFast(args: readonly string[]): Promise<boolean> };
  }
  const source = ['.', 'cli', 'fast', `${id}.js`].join('/'); // not a literal: the bundler must not pull it into dist/cli.cjs
  return import(source);
}

/** src/cli/early.ts: built, dist/early.cjs (a bundle of its own, loaded by a push only); from the sources, the module. */
async function loadEarly(): Promise<typeof import('./cli/early.js')> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    const { createRequire } = process.getBuiltinModule('node:module') as typeof import('node:module');
    return createRequire(here)('./early.cjs') as typeof import('./cli/early.js');
  }
  const source = ['.', 'cli', 'early.js'].join('/'); // not a literal: the bundler must not pull it into dist/cli.cjs
  return import(source);
}

/**
 * Entry point behind bin/docker-sign.js and bin/docker-generate.js (CommonJS) (the metadata answer is given by the bin
 * shims themselves, before this module is loaded).
 *
 * The hot commands (verify, sign, ls, inspect) with plain argv run on the fast path (src/cli/fast.ts) without
 * loading oclif; everything else, including their --help and usage errors, goes to oclif (imported only then).
 * Built (scripts/build.mjs), this module is dist/cli.cjs, the fast path dist/fast/<command>.cjs (one file per command:
 * its code without chunk hops, loaded with a code cache) and oclif a chunk of the split build.
 */
export async function main(name: 'sign' | 'generate', argv: string[]): Promise<void> {
  // NODE_EXTRA_CA_CERTS handed over by the plug-in shim, so node did not load it at start-up (tls-roots.ts)
  adoptExtraCaCerts();
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
      writeStderr(`Error: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  // `generate manifest …` (from either plug-in) is the fast command `generate` with the argv after `manifest`
  const fastArgs = args[0] === 'generate' ? (args[1] === 'manifest' ? ['generate', ...args.slice(2)] : undefined) : name === 'sign' ? args : undefined;
  if (fastArgs && isFastCommandId(fastArgs[0]) && !asksForHelp(fastArgs) && !process.env.DOCKER_SIGN_NO_FAST_PATH) {
    // the engine starts on a push's save stream while the push bundle loads (src/cli/early.ts)
    if (fastArgs[0] === 'push') await (await loadEarly()).startEarlyForPush(fastArgs.slice(1));
    try {
      const { runFast } = await loadFastEntry(fastArgs[0]);
      if (await runFast(fastArgs)) return;
    } finally {
      dropEarlyGets();
    }
  }
  // oclif prints through process.stdout: `docker sign --help | head` (a closed pipe) ends the output, it is not an error
  quietOnClosedStdout();
  const { runOclif } = await import('./cli/oclif.js');
  await runOclif(args, import.meta.url);
}
