/** Fast-path entry for `ls`, built alone into dist/fast/ls.cjs (scripts/build.mjs): only this command's code loads. */
import * as command from '../ls.js';
import { runFastCommand } from '../fast.js';

export const runFast = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> => runFastCommand(command, args, env);
