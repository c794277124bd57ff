/**
 * Fast path for the hot commands (verify, sign, ls, inspect): runs them without loading oclif (~40 ms of bundle
 * load + ~20 ms of Config.load on every start). The argv is parsed with the command's flag table (src/cli/spec.ts,
 * the same table oclif's flags are built from); when it is anything but plain (help, unknown flags, usage errors…)
 * this returns false and the caller runs oclif, which owns help and usage errors.
 * Each command has its entry in src/cli/fast/<command>.ts (a bundle of its own in dist/fast/).
 */
import { asksForHelp } from './fast-ids.js';
import { createIO, reportCommandError, type CommandIO } from './io.js';
import { parseCommandArgs, type CommandSpec, type ParsedCommand } from './spec.js';

export interface FastCommand {
  spec: CommandSpec;
  run(parsed: ParsedCommand<any>, io: CommandIO): Promise<void>;
}

/** Runs `args` (oclif argv after routing: the command id, then its argv) with `cmd`; false = not handled, run oclif. */
export async function runFastCommand(cmd: FastCommand, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const rest = args.slice(1);
  if (asksForHelp(rest)) return false;
  const parsed = parseCommandArgs(cmd.spec, rest, env);
  if (!parsed) return false;
  if (Object.entries(cmd.spec.flags).some(([k, f]) => f.slowPath && parsed.flags[k])) return false;
  const io = createIO(parsed.flags);
  try {
    await cmd.run(parsed, io);
  } catch (e) {
    reportCommandError(e, io.json);
  }
  return true;
}
