/**
 * Turns what the docker CLI hands a plug-in into the argv of our oclif CLI.
 *
 * As a Docker CLI plug-in (DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND is set), argv is
 *   [<docker global flags…>, "<plugin name>", <user args…>]   or   ["help", "<plugin name>"]
 * (see shared/docs/docker-integration.md). Global flags select the daemon and the docker config; we turn them
 * into the environment the docker CLI itself would honour, with its precedence:
 *   --context > -H/--host > DOCKER_HOST > DOCKER_CONTEXT > config currentContext.
 *
 * After `docker sign`, a first word that is not a command is an image: `docker sign IMG` = `sign IMG`.
 * After `docker generate`, the default sub-command is `manifest`.
 */
export const SIGN_COMMAND_WORDS = new Set([
  'sign', 'push', 'ls', 'inspect', 'verify', 'pull', 'install', 'generate', 'key', 'cert', 'policy', 'guard', 'store', 'help',
]);

/** docker global flags that take a value (docker/cli cli/flags/options.go). */
export const VALUE_FLAGS: ReadonlySet<string> = new Set(['-H', '--host', '-c', '--context', '--config', '-l', '--log-level', '--tlscacert', '--tlscert', '--tlskey']);
const BOOL_FLAGS = new Set(['-D', '--debug', '--tls', '--tlsverify']);

export interface DockerGlobals {
  host?: string;
  context?: string;
  config?: string;
  debug?: boolean;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

export interface PluginArgv {
  globals: DockerGlobals;
  /** argv for oclif */
  args: string[];
}

export class PluginArgvError extends Error {}

function setGlobal(g: DockerGlobals, flag: string, value: string | undefined): void {
  switch (flag) {
    case '-H': case '--host': g.host = value; break;
    case '-c': case '--context': g.context = value; break;
    case '--config': g.config = value; break;
    case '--tlscacert': g.tlscacert = value; break;
    case '--tlscert': g.tlscert = value; break;
    case '--tlskey': g.tlskey = value; break;
    case '-D': case '--debug': g.debug = value !== 'false'; break;
    case '--tls': g.tls = value !== 'false'; break;
    case '--tlsverify': g.tlsverify = value !== 'false'; break;
    default: break; // --log-level: nothing for us to do
  }
}

/** Splits docker's global flags off the front of argv, up to the plug-in's own name. */
export function splitPluginArgv(name: 'sign' | 'generate', argv: string[]): PluginArgv {
  const globals: DockerGlobals = {};
  let i = 0;
  if (argv[0] === 'help' && argv[1] === name) return { globals, args: routeArgs(name, ['--help']) };
  while (i < argv.length && argv[i] !== name) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS.has(flag)) {
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new PluginArgvError(`docker flag ${flag} needs a value`);
      setGlobal(globals, flag, value);
    } else if (BOOL_FLAGS.has(flag)) {
      setGlobal(globals, flag, eq > 0 ? a.slice(eq + 1) : 'true');
    } else {
      throw new PluginArgvError(`unexpected argument "${a}" before the plug-in name "${name}"`);
    }
    i++;
  }
  if (i >= argv.length) throw new PluginArgvError(`plug-in name "${name}" not found in arguments`);
  return { globals, args: routeArgs(name, argv.slice(i + 1)) };
}

/** Applies the default sub-command rules (see the module comment). */
export function routeArgs(name: 'sign' | 'generate', rest: string[]): string[] {
  if (name === 'generate') {
    if (rest.length === 0 || rest[0] === '--help' || rest[0] === '-h') return ['generate', ...(rest.length ? rest : ['--help'])];
    if (rest[0] === 'manifest') return ['generate', ...rest];
    return ['generate', 'manifest', ...rest];
  }
  if (rest.length === 0) return ['--help'];
  const first = rest[0];
  if (first === '--help' || first === '-h' || first === '--version' || first === 'help') return rest;
  if (SIGN_COMMAND_WORDS.has(first)) return rest;
  return ['sign', ...rest];
}

/** Environment the docker CLI would act on, given the global flags (flags win over the environment). */
export function applyGlobalsToEnv(g: DockerGlobals, env: NodeJS.ProcessEnv): void {
  if (g.config) env.DOCKER_CONFIG = g.config;
  if (g.context) {
    env.DOCKER_CONTEXT = g.context;
    // docker's "default" context is DOCKER_HOST when that is set (docker/cli resolveDefaultDockerEndpoint), the
    // default socket otherwise; any other context names its own endpoint
    if (g.context !== 'default') delete env.DOCKER_HOST;
  } else if (g.host) {
    env.DOCKER_HOST = g.host;
  }
  if (g.tlsverify) env.DOCKER_TLS_VERIFY = '1';
  if (g.tlscacert || g.tlscert || g.tlskey) {
    env.DOCKER_SIGN_TLS_CACERT = g.tlscacert ?? '';
    env.DOCKER_SIGN_TLS_CERT = g.tlscert ?? '';
    env.DOCKER_SIGN_TLS_KEY = g.tlskey ?? '';
  }
}
