/**
 * Which docker context (or DOCKER_HOST) the docker CLI would use: the part of engine endpoint resolution that
 * needs no TLS material or context store, so the CLI entry (src/docker/early.ts) can use it before the engine
 * module is loaded. Precedence as docker/cli resolveContextName: DOCKER_HOST > DOCKER_CONTEXT > config.json
 * currentContext > "default" (the -H/--context flags arrive here as DOCKER_HOST/DOCKER_CONTEXT, set from the
 * plug-in argv by plugins/cli/argv.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { dockerConfigDir } from '../config/dir.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export function truthyEnv(v: string | undefined): boolean {
  return v !== undefined && v !== '';
}

/** Name of the context docker would use, or undefined for "use DOCKER_HOST". */
export function resolveContextName(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (truthyEnv(env.DOCKER_HOST)) return undefined;
  if (truthyEnv(env.DOCKER_CONTEXT)) return env.DOCKER_CONTEXT;
  const cfgFile = join(dockerConfigDir(env), 'config.json');
  if (existsSync(cfgFile)) {
    let cfg: { currentContext?: unknown };
    try {
      cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
    } catch (e) {
      throw new ConfigError('DOCKER_CONFIG_INVALID', `${cfgFile} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (typeof cfg.currentContext === 'string' && cfg.currentContext !== '') return cfg.currentContext;
  }
  return 'default';
}

/** The unix socket of the endpoint when it is DOCKER_HOST=unix://… or the default context; otherwise undefined. */
export function plainSocketPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ctx = resolveContextName(env);
  const host = ctx === undefined ? env.DOCKER_HOST! : ctx === 'default' ? DEFAULT_DOCKER_HOST : undefined;
  return host?.startsWith('unix://') && host.length > 'unix://'.length ? host.slice('unix://'.length) : undefined;
}
