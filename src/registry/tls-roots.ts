/**
 * The CA certificates our TLS connections trust, and NODE_EXTRA_CA_CERTS without its start-up cost.
 *
 * Node reads the file NODE_EXTRA_CA_CERTS names while the process starts, before any script runs: ~35 ms for
 * Debian's 144-certificate bundle on the 2-core dev box (`node -e 0`: 55 ms with it, 19 ms without), paid by every
 * run whether or not it opens a TLS connection, the plug-in metadata answer docker asks for before each
 * `docker sign …` included. So the plug-in shims `docker sign install` writes (plugins/cli/install.ts) hand the
 * variable over as DOCKER_SIGN_EXTRA_CA_CERTS instead, and adoptExtraCaCerts(), first thing in main(), puts it back
 * into the environment (the processes we start, ssh and credential helpers, get it as the user set it) and notes
 * the file. The first TLS connection then builds what node would have had: the bundled roots plus that file's
 * certificates (one secure context per CA list, made once: building one from ~300 certificates takes ~35 ms).
 *
 * With the variable left to node (bin/*.js run directly), node's default context already holds the extra
 * certificates and nothing here changes it. Where a CA list is given explicitly (a certs.d folder's ca.crt files),
 * the list is roots + extra certificates + those files: in addition to the system roots, as the Docker engine
 * reads certs.d (node would have dropped the extra certificates there).
 *
 * A file that cannot be read is skipped with one warning, as node does ("Ignoring extra certs from …").
 */
import type * as Tls from 'node:tls';
import type * as Fs from 'node:fs';

export const RELOCATED_EXTRA_CA_VAR = 'DOCKER_SIGN_EXTRA_CA_CERTS';

const tls = () => process.getBuiltinModule('node:tls') as typeof Tls;

/**
 * The NODE_EXTRA_CA_CERTS file node did not load (handed over by the shim), if any: kept on globalThis, because
 * main() (dist/cli.cjs) and the command bundles (dist/fast/*.cjs) each hold their own copy of this module.
 */
const RELOCATED = Symbol.for('docker-sign.relocatedExtraCaCerts');
type WithRelocated = typeof globalThis & { [RELOCATED]?: string };
const relocatedFile = (): string | undefined => (globalThis as WithRelocated)[RELOCATED];

/**
 * Takes over the file the plug-in shim moved to DOCKER_SIGN_EXTRA_CA_CERTS: NODE_EXTRA_CA_CERTS is set back for
 * child processes, and TLS connections made here add the file's certificates themselves. Without the hand-over
 * (NODE_EXTRA_CA_CERTS already set: node loaded it) nothing changes.
 */
export function adoptExtraCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[RELOCATED_EXTRA_CA_VAR];
  if (file === undefined) return;
  delete env[RELOCATED_EXTRA_CA_VAR];
  if (file === '' || env.NODE_EXTRA_CA_CERTS) return; // node has its own (or there is nothing to add)
  env.NODE_EXTRA_CA_CERTS = file;
  (globalThis as WithRelocated)[RELOCATED] = file;
}

/** For tests: forget an adopted file and the contexts built from it. */
export function resetExtraCaCerts(): void {
  delete (globalThis as WithRelocated)[RELOCATED];
  extraPem = undefined;
  contexts.clear();
}

let extraPem: string | undefined;

/** The PEM text of the extra CA file ('' when unreadable: warned once). */
function extraCertificates(file: string): string {
  if (extraPem !== undefined) return extraPem;
  try {
    extraPem = (process.getBuiltinModule('node:fs') as typeof Fs).readFileSync(file, 'utf8');
  } catch (e) {
    extraPem = '';
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return extraPem;
}

/**
 * The roots an explicit CA list starts from: node's bundled roots plus the NODE_EXTRA_CA_CERTS certificates (adopted
 * from the shim, or named in the environment when node loaded them itself).
 */
export function systemRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const file = relocatedFile() ?? env.NODE_EXTRA_CA_CERTS;
  const extra = file ? extraCertificates(file) : '';
  return extra ? [...tls().rootCertificates, extra] : [...tls().rootCertificates];
}

const contexts = new Map<string, Tls.SecureContext>();

/**
 * TLS options for a connection: `{}` when node's default context already trusts what it should (no explicit CA list,
 * nothing relocated); otherwise a secure context (cached under `key`) made of the system roots plus `extraCa`, and
 * the client certificate if any.
 */
export function tlsContextOptions(key: string, material: { extraCa?: string[]; cert?: Buffer; key?: Buffer } = {}): { secureContext?: Tls.SecureContext } {
  const relocated = relocatedFile();
  if (!material.extraCa && !material.cert && relocated === undefined) return {};
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = tls().createSecureContext({
      ...(material.extraCa || relocated !== undefined ? { ca: [...systemRoots(), ...(material.extraCa ?? [])] } : {}),
      ...(material.cert ? { cert: material.cert, key: material.key } : {}),
    });
    contexts.set(key, ctx);
  }
  return { secureContext: ctx };
}

/** The CA list for libraries that take `ca` rather than a context (dockerode): undefined = node's default. */
export function defaultCaList(): string[] | undefined {
  return relocatedFile() === undefined ? undefined : systemRoots();
}
