/** Fast-path entry for `verify`, built alone into dist/fast/verify.cjs (scripts/build.mjs): only this command's code loads. */
import * as command from '../verify.js';
import { runFastCommand } from '../fast.js';

export const runFast = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> => runFastCommand(command, args, env);
