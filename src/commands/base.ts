import { Command, Errors } from '@oclif/core';
import { configPaths, type ConfigPaths } from '../config/dir.js';
import { DockerSignError, EXIT } from '../errors.js';
import { createIO, emitOutput, reportCommandError, writeInfo, type CommandIO } from '../cli/io.js';
import { COMMON_FLAGS, type CommandSpec, type FlagTable, type ParsedCommand } from '../cli/spec.js';
import { oclifFlags } from './flags.js';

/**
 * Base of every command: common flags, `-o json` output, and error reporting.
 * Commands stay thin: parse flags, call into src/<concern>, print.
 *
 * Errors: a DockerSignError prints "Error: <message>" (+ "Hint: …") on stderr (or a JSON object on stdout
 * with -o json) and exits with its exit code; anything unexpected prints a one-line internal error (stack only
 * with DOCKER_SIGN_DEBUG=1) and exits 70 (src/cli/io.ts reportCommandError, shared with the fast path).
 * oclif's own usage errors (bad flags, missing arguments) are reported the same way, with a pointer to --help,
 * exit 2.
 */
export abstract class BaseCommand extends Command {
  /** --config-dir (env DOCKER_SIGN_CONFIG) and -o/--output text|json: defined once in src/cli/spec.ts. */
  static override baseFlags = oclifFlags(COMMON_FLAGS);

  private configDirFlag?: string;
  protected outputFormat: 'text' | 'json' = 'text';

  /** Parses flags/args of the concrete command and records the common ones. */
  protected async parseCommon<T extends typeof BaseCommand>(cmd: T) {
    const parsed = await this.parse(cmd as never);
    const flags = parsed.flags as { 'config-dir'?: string; output?: string };
    this.configDirFlag = flags['config-dir'];
    this.outputFormat = flags.output === 'json' ? 'json' : 'text';
    return parsed as Awaited<ReturnType<Command['parse']>> & { flags: Record<string, any>; args: Record<string, any> };
  }

  /** parseCommon, typed by the command's flag table (src/cli/spec.ts) for its oclif-free body in src/cli/. */
  protected async parseSpec<F extends FlagTable>(cmd: typeof BaseCommand, _spec: CommandSpec<F>): Promise<ParsedCommand<F>> {
    const { args, flags } = await this.parseCommon(cmd);
    return { args, flags } as unknown as ParsedCommand<F>;
  }

  protected get paths(): ConfigPaths {
    return configPaths(this.configDirFlag);
  }

  protected get json(): boolean {
    return this.outputFormat === 'json';
  }

  /** The oclif-free view of this run (after parseCommon), for command bodies in src/cli/. */
  protected get io(): CommandIO {
    return createIO({ 'config-dir': this.configDirFlag, output: this.outputFormat });
  }

  /** Prints `data` as JSON with -o json, else the text from `text()`. */
  protected emit(data: unknown, text: () => string): void {
    emitOutput(this.json, data, text);
  }

  /** Progress/info lines go to stderr so stdout stays machine-readable. */
  protected info(msg: string): void {
    writeInfo(msg);
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<any> {
    if (err instanceof Errors.ExitError) throw err; // this.exit(): oclif ends the process with that code
    if (!(err instanceof DockerSignError) && (err instanceof Errors.CLIError || (err as { oclif?: unknown }).oclif !== undefined)) {
      // oclif's usage errors (unknown or bad flags, missing arguments, exclusive flags) as ours: "Error: …" and a
      // hint on stderr, a JSON object with -o json (the flag may not have been parsed: read argv), exit 2
      const json = this.json || jsonRequested(this.argv);
      const lines = err.message.replace(/\n*See more help with --help\s*$/, '').split('\n').map((l) => l.trim()).filter(Boolean);
      const message = `${(lines[0] ?? 'invalid usage').replace(/:$/, '')}${lines.length > 1 ? `: ${lines.slice(1).join('; ')}` : ''}`;
      const command = ['docker sign', ...(this.id === 'sign' ? [] : (this.id ?? '').split(':').filter(Boolean))].join(' ');
      reportCommandError(new DockerSignError('USAGE', message, { exitCode: EXIT.USAGE, hint: `see '${command} --help'` }), json);
      return;
    }
    reportCommandError(err, this.json);
  }
}

/** Whether argv asks for JSON output (-o json, --output json, -ojson, --output=json). */
function jsonRequested(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if ((a === '-o' || a === '--output') && argv[i + 1] === 'json') return true;
    if (a === '-ojson' || a === '--output=json') return true;
  }
  return false;
}

/** Thrown by commands whose core is not built yet. */
export function notImplemented(what: string): never {
  throw new DockerSignError('NOT_IMPLEMENTED', `${what} is not implemented yet`, { exitCode: EXIT.USAGE });
}

/**
 * Help text from source lines: lines of one paragraph are joined with spaces (oclif wraps them to the terminal;
 * a hard line break inside a paragraph would leave ragged half-lines), an empty line separates paragraphs.
 */
export function prose(lines: string[]): string {
  return lines.join('\n').split(/\n{2,}/).map((p) => p.split('\n').map((l) => l.trim()).join(' ')).join('\n\n');
}
