import { pathToFileURL } from 'node:url';
import { configPaths, type ConfigPaths } from '../../src/config/dir.js';
import { AuditLog } from './audit.js';
import { loadGuardConfig, type GuardConfig } from './config.js';
import { buildDeps, type RegistryAccess, type Verifier } from './deps.js';
import { PolicyState } from './policy-hash.js';
import { GuardServer } from './server.js';

/**
 * The guard process: config + policy watcher + deps + HTTP server on the plug-in socket.
 * Used by `docker sign guard serve` and runnable directly: `node dist/guard.js [--config-dir DIR]`.
 */
export interface RunGuardOptions {
  paths: ConfigPaths;
  overrides?: Partial<GuardConfig>;
  log?: (msg: string) => void;
  /** Install SIGTERM/SIGINT (stop, remove socket) and SIGHUP (reload policy, drop cache) handlers. Default true. */
  handleSignals?: boolean;
  /** Test seams (default: the real registry client and shared verifier). */
  registry?: RegistryAccess;
  verifier?: Verifier;
}

export interface RunningGuard {
  config: GuardConfig;
  server: GuardServer;
  policy: PolicyState;
  /** Resolves when the guard stopped. */
  closed: Promise<void>;
  stop(): Promise<void>;
}

export async function runGuard(o: RunGuardOptions): Promise<RunningGuard> {
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const config = loadGuardConfig(o.paths, o.overrides);
  const policy = new PolicyState({ trustPolicy: o.paths.trustPolicy, trustPolicyOci: o.paths.trustPolicyOci, trustStore: o.paths.trustStore });
  const hash = await policy.start();
  const audit = new AuditLog(config.auditLog || undefined, (e) => log(`guard: audit log ${config.auditLog}: ${e.message}`));
  const { deps, engine } = await buildDeps({ cfg: config, paths: o.paths, policy, registry: o.registry, verifier: o.verifier });
  const server = new GuardServer({
    socket: config.socket,
    deps,
    options: config,
    audit,
    log,
    onInvalidate: () => policy.markDirty(),
    policyHashPeek: () => policy.peek,
  });
  policy.onChange((h) => log(`guard: trust policy / trust store changed (${h.slice(0, 19)}…); cached verdicts no longer apply`));
  try {
    await server.start();
  } catch (e) {
    policy.stop();
    await audit.close();
    engine.close();
    const err = e as NodeJS.ErrnoException;
    const { DockerSignError, EXIT } = await import('../../src/errors.js');
    throw new DockerSignError('GUARD_SOCKET', `cannot serve ${config.socket}: ${err.message}`, {
      exitCode: EXIT.UNAVAILABLE,
      hint: err.code === 'EACCES' || err.code === 'EPERM'
        ? 'dockerd looks for plug-ins in /run/docker/plugins (root only): run the guard as root, or use --socket elsewhere plus `docker sign guard install --socket …` (spec file)'
        : err.code === undefined || err.code === 'EADDRINUSE'
          ? 'is another guard running? (`docker sign guard status`); else pass --socket'
          : 'pass --socket with a path in a directory that exists or can be created',
    });
  }
  try {
    const { loadTrustPolicy } = await import('../../src/trust/policy.js');
    await loadTrustPolicy(o.paths);
  } catch (e) {
    log(`guard: WARNING: ${(e as Error).message} — every pull and run will be denied until this is fixed`);
  }
  log(`guard: serving authz plug-in "${config.name}" on ${config.socket} (engine ${config.dockerHost}, timeout ${config.timeoutMs} ms, policy ${hash.slice(0, 19)}…)`);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  const handlers: [NodeJS.Signals, () => void][] = [];
  const stop = () => {
    stopping ??= (async () => {
      for (const [s, h] of handlers) process.off(s, h);
      policy.stop();
      await server.close();
      await audit.close();
      engine.close();
      log('guard: stopped');
      resolveClosed();
    })();
    return stopping;
  };
  if (o.handleSignals !== false) {
    const onStop = () => void stop();
    const onHup = () => {
      const n = server.invalidate();
      log(`guard: SIGHUP: dropped ${n} cached verdicts, re-reading the trust policy`);
    };
    handlers.push(['SIGTERM', onStop], ['SIGINT', onStop], ['SIGHUP', onHup]);
    for (const [s, h] of handlers) process.on(s, h);
  }
  return { config, server, policy, closed, stop };
}

// Direct execution: node dist/guard.js [--config-dir DIR]. (The bundle splits code into chunks, so
// import.meta.url is not the entry's URL there; the script name is what tells.)
const invoked = process.argv[1] ? pathToFileURL(process.argv[1]).href : '';
if (invoked === import.meta.url || /\/dist\/guard\.js$/.test(invoked)) {
  const i = process.argv.indexOf('--config-dir');
  const paths = configPaths(i > 0 ? process.argv[i + 1] : undefined);
  runGuard({ paths }).then(
    (g) => g.closed.then(() => process.exit(0)),
    (e) => {
      process.stderr.write(`guard: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
