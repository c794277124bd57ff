/** Commands the fast path (src/cli/fast.ts) can run without oclif (src/cli.ts checks this before loading it). */
export const FAST_COMMAND_IDS = ['verify', 'sign', 'ls', 'inspect', 'push', 'generate'] as const;
export type FastCommandId = (typeof FAST_COMMAND_IDS)[number];

export function isFastCommandId(id: string | undefined): id is FastCommandId {
  return (FAST_COMMAND_IDS as readonly string[]).includes(id ?? '');
}

/** Help is oclif's: a help request never loads the fast path (dist/fast/) first. */
export function asksForHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}
