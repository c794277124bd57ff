/** Fast-path entry for `generate manifest`, built alone into dist/fast/generate.cjs (scripts/build.mjs): only this command's code loads. */
import * as command from '../generate.js';
import { runFastCommand } from '../fast.js';

export const runFast = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> => runFastCommand(command, args, env);
