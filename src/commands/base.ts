import { Command, Flags, Errors } from '@oclif/core';
import { configPaths, type ConfigPaths } from '../config/dir.js';
import { DockerSignError, EXIT } from '../errors.js';

/**
 * Base of every command: common flags, `-o json` output, and error reporting.
 * Commands stay thin: parse flags, call into src/<concern>, print.
 *
 * Errors: a DockerSignError prints "Error: <message>" (+ "Hint: …") on stderr (or a JSON object on stdout
 * with -o json) and exits with its exit code; anything unexpected prints a one-line internal error (stack only
 * with DOCKER_SIGN_DEBUG=1) and exits 70. oclif's own usage errors keep oclif's message and exit 2.
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    'config-dir': Flags.string({
      description: 'docker-sign config directory (notation layout; a notation config dir works as is)',
      env: 'DOCKER_SIGN_CONFIG',
      helpGroup: 'GLOBAL',
    }),
    output: Flags.string({
      char: 'o',
      description: 'output format',
      options: ['text', 'json'],
      default: 'text',
      helpGroup: 'GLOBAL',
    }),
  };

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

  protected get paths(): ConfigPaths {
    return configPaths(this.configDirFlag);
  }

  protected get json(): boolean {
    return this.outputFormat === 'json';
  }

  /** Prints `data` as JSON with -o json, else the text from `text()`. */
  protected emit(data: unknown, text: () => string): void {
    if (this.json) process.stdout.write(JSON.stringify(data, null, 2) + '\n');
    else {
      const t = text();
      if (t.length > 0) process.stdout.write(t.endsWith('\n') ? t : t + '\n');
    }
  }

  /** Progress/info lines go to stderr so stdout stays machine-readable. */
  protected info(msg: string): void {
    process.stderr.write(msg + '\n');
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<any> {
    if (err instanceof DockerSignError) {
      if (this.json) {
        process.stdout.write(JSON.stringify(err.toJSON(), null, 2) + '\n');
      }
      process.stderr.write(`Error: ${err.message}\n`);
      if (err.hint) process.stderr.write(`Hint: ${err.hint}\n`);
      if (process.env.DOCKER_SIGN_DEBUG && err.stack) process.stderr.write(err.stack + '\n');
      process.exitCode = err.exitCode;
      return;
    }
    // oclif's own errors (bad flags, missing args, this.exit) keep oclif's handling.
    if (err instanceof Errors.CLIError || (err as { oclif?: unknown }).oclif !== undefined) throw err;
    process.stderr.write(`Error: internal error: ${err?.message ?? String(err)}\n`);
    process.stderr.write(
      process.env.DOCKER_SIGN_DEBUG ? `${err?.stack ?? ''}\n` : 'Hint: this is a bug in docker-sign; rerun with DOCKER_SIGN_DEBUG=1 for details\n',
    );
    process.exitCode = EXIT.INTERNAL;
  }
}

/** Thrown by commands whose core is not built yet. */
export function notImplemented(what: string): never {
  throw new DockerSignError('NOT_IMPLEMENTED', `${what} is not implemented yet`, { exitCode: EXIT.USAGE });
}
