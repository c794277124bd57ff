import { run, flush, handle } from '@oclif/core';

/** Runs the oclif CLI (everything that is not on the fast path, and every --help / usage error). */
export async function runOclif(args: string[], root: string): Promise<void> {
  try {
    await run(args, root);
    await flush();
  } catch (e) {
    await handle(e as Error);
  }
}
