/** Fast-path entry for `inspect`, built alone into dist/fast/inspect.cjs (scripts/build.mjs): only this command's code loads. */
import * as command from '../inspect.js';
import { runFastCommand } from '../fast.js';

export const runFast = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> => runFastCommand(command, args, env);
