/** Fast-path entry for `push`, built alone into dist/fast/push.cjs (scripts/build.mjs): only this command's code loads. */
import * as command from '../push.js';
import { runFastCommand } from '../fast.js';

export const runFast = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> => runFastCommand(command, args, env);
