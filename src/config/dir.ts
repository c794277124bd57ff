import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Every path docker-sign reads or writes, in one place (notation-go's `dir` package idea).
 * The layout below the config dir is notation's, so `--config-dir ~/.config/notation` uses a notation
 * user's trust policy, trust store and signing keys as they are:
 *
 *   <config>/trustpolicy.json                    (notation >= 1.2 also: trustpolicy.oci.json, preferred if present)
 *   <config>/truststore/x509/<type>/<name>/*.crt|*.cer|*.pem   type = ca | signingAuthority | tsa
 *   <config>/signingkeys.json                    {"default": name, "keys": [{"name","keyPath","certPath"}]}
 *   <config>/localkeys/<name>.key|.crt           keys made by `docker sign key generate`
 *   <config>/store/                              our local content store: an OCI image layout (blobs/, index.json)
 *   <config>/guard/                              guard config, verdict cache, audit log
 *
 * Default: $DOCKER_SIGN_CONFIG, else $XDG_CONFIG_HOME/docker-sign, else ~/.config/docker-sign.
 */
export interface ConfigPaths {
  root: string;
  trustPolicy: string;
  trustPolicyOci: string;
  trustStore: string;
  signingKeys: string;
  localKeys: string;
  store: string;
  guard: string;
}

export function defaultConfigRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCKER_SIGN_CONFIG) return resolve(env.DOCKER_SIGN_CONFIG);
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.length > 0 ? resolve(xdg) : join(homedir(), '.config'), 'docker-sign');
}

export function configPaths(root?: string): ConfigPaths {
  const r = root ? resolve(root) : defaultConfigRoot();
  return {
    root: r,
    trustPolicy: join(r, 'trustpolicy.json'),
    trustPolicyOci: join(r, 'trustpolicy.oci.json'),
    trustStore: join(r, 'truststore'),
    signingKeys: join(r, 'signingkeys.json'),
    localKeys: join(r, 'localkeys'),
    store: join(r, 'store'),
    guard: join(r, 'guard'),
  };
}

/** Docker CLI config dir: $DOCKER_CONFIG or ~/.docker (credentials, contexts, cli-plugins). */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG ? resolve(env.DOCKER_CONFIG) : join(homedir(), '.docker');
}
