/**
 * Flag and argument tables of the hot commands (verify, sign, ls, inspect), without oclif.
 *
 * One source of truth: src/commands/flags.ts turns these tables into the oclif `static flags` / `static args`
 * (help, usage errors), and parseCommandArgs() below parses the same tables with node's util.parseArgs for the
 * fast path (src/cli/fast.ts), which runs the command without loading oclif. The fast path only accepts argv it
 * can parse exactly as oclif would; anything else (unknown flag, --help, a value outside `options`, a repeated
 * single-value flag, short-flag groups, `--`, a missing or extra argument…) returns undefined and oclif runs
 * instead, so oclif keeps owning help and usage errors.
 */
import { parseArgs } from 'node:util';

interface FlagBase {
  description: string;
  char?: string;
  helpGroup?: string;
  /** Environment variable used when the flag is not given (a non-empty value only, as oclif does). */
  env?: string;
  /** Flags that cannot be given together with this one. */
  exclusive?: readonly string[];
  /**
   * When given, the fast path leaves the command to oclif: what the flag needs is not part of the command's fast
   * bundle (e.g. verify --local needs the Docker engine code), so the everyday runs stay small.
   */
  slowPath?: boolean;
}
export interface StringFlagSpec extends FlagBase {
  type: 'string';
  default?: string;
  options?: readonly string[];
  /** Repeatable, one value per occurrence (oclif multiple + multipleNonGreedy). */
  multiple?: boolean;
}
export interface BooleanFlagSpec extends FlagBase {
  type: 'boolean';
  default: boolean;
}
export interface IntegerFlagSpec extends FlagBase {
  type: 'integer';
  default?: number;
  min?: number;
  max?: number;
}
export type FlagSpec = StringFlagSpec | BooleanFlagSpec | IntegerFlagSpec;
export type FlagTable = Record<string, FlagSpec>;

export interface ArgSpec {
  name: string;
  description: string;
}
export interface CommandSpec<F extends FlagTable = FlagTable> {
  /** Required positional arguments, in order. */
  args: readonly ArgSpec[];
  flags: F;
}

/** The parsed value type of a flag (what oclif gives the command, too). */
export type FlagValue<S> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'integer' }
    ? S extends { default: number } ? number : number | undefined
    : S extends { multiple: true }
      ? string[] | undefined
      : S extends { default: string } ? string : string | undefined;
export type FlagValues<T extends FlagTable> = { [K in keyof T]: FlagValue<T[K]> };

/** Flags every command has (BaseCommand.baseFlags). */
export const COMMON_FLAGS = {
  'config-dir': {
    type: 'string',
    description: 'docker-sign config directory (notation layout; a notation config dir works as is)',
    env: 'DOCKER_SIGN_CONFIG',
    helpGroup: 'GLOBAL',
  },
  output: {
    type: 'string',
    char: 'o',
    description: 'output format',
    options: ['text', 'json'],
    default: 'text',
    helpGroup: 'GLOBAL',
  },
} as const satisfies FlagTable;

export type CommonFlags = FlagValues<typeof COMMON_FLAGS>;

export interface ParsedCommand<F extends FlagTable> {
  args: Record<string, string>;
  flags: FlagValues<F> & CommonFlags;
}

/**
 * Parses `argv` (the words after the command name) against `spec` + COMMON_FLAGS the way oclif would, or returns
 * undefined when the input is anything but plain (then oclif must handle it: help, usage errors, odd forms).
 */
export function parseCommandArgs<F extends FlagTable>(
  spec: CommandSpec<F>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommand<F> | undefined {
  const table: FlagTable = { ...COMMON_FLAGS, ...spec.flags };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(table)) {
    options[name] = {
      type: f.type === 'boolean' ? 'boolean' : 'string',
      ...(f.char ? { short: f.char } : {}),
      ...(f.type === 'string' && f.multiple ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true, tokens: true });
  } catch {
    return undefined; // unknown flag, missing value, boolean with a value, ambiguous value…: oclif reports it
  }
  const seenIndex = new Set<number>();
  const given = new Map<string, number>();
  for (const t of parsed.tokens) {
    if (t.kind === 'option-terminator') return undefined;
    if (t.kind !== 'option') continue;
    // short-flag groups (-vq) and attached short values (-ojson, -o=json): oclif reads some of these differently
    if (seenIndex.has(t.index)) return undefined;
    seenIndex.add(t.index);
    if (!t.rawName.startsWith('--') && t.inlineValue) return undefined;
    // a value oclif could take for a flag name (or an empty one): leave it to oclif
    if (t.value !== undefined && (t.value === '' || t.value.startsWith('-'))) return undefined;
    given.set(t.name, (given.get(t.name) ?? 0) + 1);
  }
  const flags: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(table)) {
    const count = given.get(name) ?? 0;
    if (count > 1 && !(f.type === 'string' && f.multiple)) return undefined; // oclif: "can only be specified once"
    if (count > 0 && f.exclusive?.some((other) => given.has(other))) return undefined;
    const raw = (parsed.values as Record<string, string | boolean | string[] | undefined>)[name];
    if (f.type === 'boolean') {
      flags[name] = count > 0 ? true : f.env && env[f.env] ? isTruthy(env[f.env]!) : f.default;
      continue;
    }
    let values: string[] | undefined;
    if (count > 0) values = Array.isArray(raw) ? raw : [raw as string];
    else if (f.env && env[f.env]) values = [env[f.env]!];
    if (values === undefined) {
      if (f.default !== undefined) flags[name] = f.default;
      continue;
    }
    if (f.type === 'integer') {
      const v = values[0]!;
      if (!/^-?\d+$/.test(v)) return undefined;
      const n = Number.parseInt(v, 10);
      if (f.min !== undefined && n < f.min) return undefined;
      if (f.max !== undefined && n > f.max) return undefined;
      flags[name] = n;
      continue;
    }
    if (f.options && values.some((v) => !f.options!.includes(v))) return undefined;
    flags[name] = f.multiple ? values : values[0];
  }
  if (parsed.positionals.length !== spec.args.length) return undefined;
  const args: Record<string, string> = {};
  spec.args.forEach((a, i) => {
    args[a.name] = parsed.positionals[i]!;
  });
  return { args, flags: flags as FlagValues<F> & CommonFlags };
}

/** oclif's boolean env reading (util.isTruthy). */
function isTruthy(v: string): boolean {
  return ['1', 'true', 'y', 'yes'].includes(v.toLowerCase());
}
