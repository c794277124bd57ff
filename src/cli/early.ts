/**
 * What the CLI entry starts before it loads a command's bundle (src/docker/early.ts says why): for a plain
 * `docker sign push IMAGE` of an image the local store holds nothing for, the engine's inspect and `docker save` of
 * IMAGE, on the daemon's unix socket. Only when the answer is sure to be wanted and to come from the daemon the
 * command will use:
 *  - the argv parses with push's own flag table (anything else goes to oclif, which sends nothing early);
 *  - the endpoint is DOCKER_HOST=unix://… or the default context (named contexts, tcp and ssh wait for the command);
 *  - IMAGE is a name (not an ID) and the store's index.json does not name it (the command then reads the store
 *    first and asks for the save only if it must: push.ts ensureGenerated).
 * Any doubt or error: nothing is sent, and the command works as without this.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configPaths } from '../config/dir.js';
import { plainSocketPath } from '../docker/context.js';
import { startEarlyGet } from '../docker/early.js';
import { storeTagFor } from '../docker/storetag.js';
import { parseCommandArgs } from './spec.js';
import { spec as pushSpec } from './push.js';

/** `args`: the push command's argv (after "push"). Resolves when what was sent has left (never rejects). */
export async function startEarlyForPush(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const parsed = parseCommandArgs(pushSpec, args, env);
    const image = parsed?.args.image;
    if (!parsed || !image) return;
    const tag = storeTagFor(image);
    if (tag === undefined) return;
    const index = join(configPaths(parsed.flags['config-dir']).store, 'index.json');
    if (existsSync(index) && readFileSync(index, 'utf8').includes(JSON.stringify(tag))) return;
    const socket = plainSocketPath(env);
    if (!socket) return;
    const ref = encodeURIComponent(image);
    await Promise.all([startEarlyGet(socket, `/images/${ref}/json`), startEarlyGet(socket, `/images/get?names=${ref}`)]);
  } catch {
    // not sure: the command asks itself
  }
}
