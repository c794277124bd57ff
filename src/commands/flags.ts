/**
 * oclif side of the flag tables in src/cli/spec.ts: builds `static flags` / `static args` from them, so the oclif
 * command (help, usage errors) and the fast path (src/cli/fast.ts) parse the same flag names, types and defaults.
 * The only place the tables meet oclif's Flags/Args.
 */
import { Args, Flags } from '@oclif/core';
import type { CommandSpec, FlagTable } from '../cli/spec.js';

export function oclifFlags(table: FlagTable) {
  const out: Record<string, any> = {};
  for (const [name, f] of Object.entries(table)) {
    const common = {
      description: f.description,
      ...(f.char ? { char: f.char as 'a' } : {}),
      ...(f.helpGroup ? { helpGroup: f.helpGroup } : {}),
      ...(f.env ? { env: f.env } : {}),
      ...(f.exclusive ? { exclusive: [...f.exclusive] } : {}),
    };
    if (f.type === 'boolean') out[name] = Flags.boolean({ ...common, default: f.default });
    else if (f.type === 'integer') out[name] = Flags.integer({ ...common, ...(f.default !== undefined ? { default: f.default } : {}), ...(f.min !== undefined ? { min: f.min } : {}), ...(f.max !== undefined ? { max: f.max } : {}) });
    else if (f.multiple) out[name] = Flags.string({ ...common, ...(f.options ? { options: [...f.options] } : {}), multiple: true, multipleNonGreedy: true });
    else out[name] = Flags.string({ ...common, ...(f.options ? { options: [...f.options] } : {}), ...(f.default !== undefined ? { default: f.default } : {}) });
  }
  return out;
}

export function oclifArgs(spec: CommandSpec) {
  const out: Record<string, any> = {};
  for (const a of spec.args) out[a.name] = Args.string({ required: true, description: a.description });
  return out;
}
