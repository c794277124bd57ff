/** Fast-path entry for `sign`, built alone into dist/fast/sign.cjs (scripts/build.mjs): only this command's code loads. */
import * as command from '../sign.js';
import { runFastCommand } from '../fast.js';

export const runFast = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> => runFastCommand(command, args, env);
