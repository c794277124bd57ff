/**
 * Fast path for the hot commands (verify, sign, ls, inspect): runs them without loading oclif (~40 ms of bundle
 * load + ~20 ms of Config.load on every start). The argv is parsed with the command's flag table (src/cli/spec.ts,
 * the same table oclif's flags are built from); when it is anything but plain (help, unknown flags, usage errors…)
 * this returns false and the caller runs oclif, which owns help and usage errors.
 */
import type { CommandIO } from './io.js';
import type { CommandSpec, ParsedCommand } from './spec.js';

interface FastCommand {
  spec: CommandSpec;
  run(parsed: ParsedCommand<any>, io: CommandIO): Promise<void>;
}

const FAST_COMMANDS: Record<string, () => Promise<FastCommand>> = {
  verify: () => import('./verify.js'),
  sign: () => import('./sign.js'),
  ls: () => import('./ls.js'),
  inspect: () => import('./inspect.js'),
};

/** Runs `args` (oclif argv after routing: command id first) on the fast path; false = not handled, run oclif. */
export async function runFast(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const load = Object.hasOwn(FAST_COMMANDS, args[0] ?? '') ? FAST_COMMANDS[args[0]!] : undefined;
  if (!load) return false;
  const rest = args.slice(1);
  if (rest.includes('--help') || rest.includes('-h')) return false;
  const [cmd, { parseCommandArgs }, io] = await Promise.all([load(), import('./spec.js'), import('./io.js')]);
  const parsed = parseCommandArgs(cmd.spec, rest, env);
  if (!parsed) return false;
  const out = io.createIO(parsed.flags);
  try {
    await cmd.run(parsed, out);
  } catch (e) {
    io.reportCommandError(e, out.json);
  }
  return true;
}
