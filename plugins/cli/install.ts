import { chmodSync, existsSync, lstatSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { mkdirsSync } from '../../src/config/mkdir.js';
import { readJsonObjectFile, replaceFile } from '../../src/config/files.js';
import { VALUE_FLAGS } from './argv.js';

/**
 * `docker sign install`: makes `docker sign` / `docker generate` work from the docker CLI.
 *
 *  - plug-ins: `<DOCKER_CONFIG>/cli-plugins/docker-sign` and `docker-generate` (docker finds `docker-NAME`
 *    executables there). Default: a 3-line /bin/sh shim that execs this node binary on bin/<name>.js by absolute
 *    path — works wherever the package lives and whether or not `node` is on docker's PATH. `--symlink` links to
 *    bin/<name>.js instead (then `#!/usr/bin/env node` must find node).
 *  - `--shell`: `<DOCKER_CONFIG>/docker-sign.sh` defines a `docker` shell function that turns
 *    `docker push --sign IMAGE…` into `docker sign push --sign IMAGE…` and passes everything else to the real docker;
 *    one marked line in ~/.bashrc (and ~/.zshrc if present) sources it. Idempotent; `--uninstall` removes it.
 *    (docker itself cannot be taught `push --sign`: plug-ins cannot shadow built-ins.)
 *  - `--hooks`: config.json `features.hooks = "true"` and `plugins.sign.hooks = "push,pull"`, so the CLI shows a
 *    "What's next" hint after `docker push` / `docker pull` (bin/docker-sign.js answers docker-cli-plugin-hooks).
 */
export const PLUGIN_NAMES = ['sign', 'generate'] as const;
export type PluginName = (typeof PLUGIN_NAMES)[number];
const SHIM_MARK = '# docker-sign CLI plug-in shim';
const RC_MARK = '# docker-sign: docker push --sign wrapper';

export function packageRoot(from = fileURLToPath(import.meta.url)): string {
  let d = dirname(from);
  for (let i = 0; i < 8; i++) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'docker-sign') return d;
      } catch {
        // keep walking
      }
    }
    d = dirname(d);
  }
  throw new Error('cannot find the docker-sign package root');
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The plug-in executable: a /bin/sh script that
 *  - answers `docker-cli-plugin-metadata` itself, without node: docker asks every plug-in for it on each
 *    `docker --help` / `docker info` and once or twice before every `docker sign …` run (node's start-up alone
 *    is 20-55 ms; this answer takes ~1 ms). Same bytes as bin/plugin-shim.js prints (metadataLine), the version
 *    read from the package's package.json at each call with shell built-ins (stays right after an upgrade);
 *  - hands NODE_EXTRA_CA_CERTS to docker-sign as DOCKER_SIGN_EXTRA_CA_CERTS, so node does not load the file at
 *    start-up (~35 ms for a full CA bundle) and our TLS connections add it when they are made
 *    (src/registry/tls-roots.ts). Not when NODE_OPTIONS picks a CA store (--use-openssl-ca and the like): node
 *    then keeps the variable, as without the shim;
 *  - execs this node binary on bin/docker-NAME.js by absolute path.
 */
export function shimText(nodePath: string, script: string, name: PluginName, root: string): string {
  const shim = createRequire(import.meta.url)(join(root, 'bin', 'plugin-shim.js')) as { metadataLine(name: string, version: string): string };
  const marker = '\u0000VERSION\u0000';
  const [before, after] = shim.metadataLine(name, marker).replace(/\n$/, '').split(JSON.stringify(marker).slice(1, -1));
  return [
    '#!/bin/sh',
    `${SHIM_MARK} (written by \`docker sign install\`)`,
    'if [ "$#" -eq 1 ] && [ "$1" = docker-cli-plugin-metadata ]; then',
    '  v=',
    `  while IFS= read -r l; do case $l in *'"version"'*) v=\${l#*'"version"'}; v=\${v#*\\"}; v=\${v%%\\"*}; break;; esac; done < ${shq(join(root, 'package.json'))}`,
    "  case $v in ''|*[!0-9A-Za-z.+-]*) ;; *)",
    `    printf '%s%s%s\\n' ${shq(before!)} "$v" ${shq(after!)}`,
    '    exit 0;;',
    '  esac',
    'fi',
    'if [ -n "${NODE_EXTRA_CA_CERTS-}" ]; then',
    '  case " ${NODE_OPTIONS-} " in',
    '    *-ca[\\ =]*) ;;',
    '    *) DOCKER_SIGN_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export DOCKER_SIGN_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS;;',
    '  esac',
    'fi',
    `exec ${shq(nodePath)} ${shq(script)} "$@"`,
    '',
  ].join('\n');
}

function isOurs(file: string, root: string): boolean {
  try {
    const st = lstatSync(file);
    if (st.isSymbolicLink()) return resolve(dirname(file), readlinkSync(file)).startsWith(join(root, 'bin'));
    return readFileSync(file, 'utf8').includes(SHIM_MARK);
  } catch {
    return false;
  }
}

export interface InstallOptions {
  dockerConfig: string;
  root?: string;
  nodePath?: string;
  symlink?: boolean;
  shell?: boolean;
  hooks?: boolean;
  rcFiles?: string[];
  home?: string;
  force?: boolean;
}

export interface InstallResult {
  pluginsDir: string;
  plugins: { name: string; path: string; target: string; kind: 'shim' | 'symlink' }[];
  shellFile?: string;
  rcFilesUpdated: string[];
  hooksConfig?: string;
}

export function defaultRcFiles(home: string): string[] {
  const out = [join(home, '.bashrc')];
  if (existsSync(join(home, '.zshrc'))) out.push(join(home, '.zshrc'));
  return out;
}

/**
 * The `docker push --sign` wrapper: POSIX sh (sourced from bash, zsh, dash or ksh rc files alike: a syntax one
 * shell lacks would stop it reading the rest of its rc file). It finds the push command after docker's global
 * options (`docker --context x push`, `docker image push`), and only when `--sign` is among push's arguments
 * rewrites the command line to `docker [global options] sign push --sign …`, rotating "$@" in place (no arrays in
 * sh). Everything else runs as typed.
 */
export function shellWrapperText(): string {
  const valueFlags = [...VALUE_FLAGS].join('|'); // docker's global options that take a value (skipped with it)
  return `${RC_MARK} (written by \`docker sign install --shell\`; remove with \`docker sign install --uninstall --shell\`)
# \`docker push --sign IMAGE\` (also \`docker image push --sign\`, after docker's global options) runs
# \`docker sign push --sign IMAGE\`: signs with the default key unless that key already signed the image, then pushes
# image and signatures. Every other command goes to docker unchanged. POSIX sh: bash, zsh, dash, ksh.
docker() {
  __ds_state=global __ds_skip=0 __ds_sign=0 __ds_all=0
  for __ds_a in "$@"; do
    if [ "$__ds_skip" = 1 ]; then __ds_skip=0; continue; fi
    case $__ds_state in
      global)
        case $__ds_a in
          ${valueFlags}) __ds_skip=1 ;;
          -*) ;;
          push) __ds_state=push ;;
          image) __ds_state=image ;;
          *) __ds_state=other ;;
        esac ;;
      image) if [ "$__ds_a" = push ]; then __ds_state=push; else __ds_state=other; fi ;;
      push)
        case $__ds_a in
          --sign) __ds_sign=1 ;;
          -a|--all-tags|--all-tags=true) __ds_all=1 ;;
        esac ;;
    esac
  done
  if [ "$__ds_sign" = 1 ] && [ "$__ds_all" = 1 ]; then
    echo "docker push --sign: --all-tags is not supported; push and sign one tag at a time" >&2
    unset __ds_state __ds_skip __ds_sign __ds_all __ds_a
    return 125
  fi
  if [ "$__ds_sign" = 1 ]; then
    __ds_state=global __ds_skip=0
    for __ds_a in "$@"; do
      shift
      if [ "$__ds_skip" = 1 ]; then __ds_skip=0; set -- "$@" "$__ds_a"; continue; fi
      case $__ds_state in
        global)
          case $__ds_a in
            ${valueFlags}) __ds_skip=1; set -- "$@" "$__ds_a" ;;
            -*) set -- "$@" "$__ds_a" ;;
            push) __ds_state=push; set -- "$@" sign push --sign ;;
            image) __ds_state=image ;;
          esac ;;
        image) __ds_state=push; set -- "$@" sign push --sign ;;
        push) if [ "$__ds_a" != --sign ]; then set -- "$@" "$__ds_a"; fi ;;
      esac
    done
  fi
  unset __ds_state __ds_skip __ds_sign __ds_all __ds_a
  command docker "$@"
}
`;
}

function rcLine(shellFile: string): string {
  return `[ -f ${shq(shellFile)} ] && . ${shq(shellFile)} ${RC_MARK}`;
}

function readJsonObject(file: string): Record<string, any> {
  return readJsonObjectFile(file, 'DOCKER_CONFIG_INVALID');
}

export function install(o: InstallOptions): InstallResult {
  const root = o.root ?? packageRoot();
  const nodePath = o.nodePath ?? process.execPath;
  const pluginsDir = join(o.dockerConfig, 'cli-plugins');
  mkdirsSync(pluginsDir);
  const res: InstallResult = { pluginsDir, plugins: [], rcFilesUpdated: [] };
  for (const name of PLUGIN_NAMES) {
    const path = join(pluginsDir, `docker-${name}`);
    const target = join(root, 'bin', `docker-${name}.js`);
    if (!existsSync(target)) throw new Error(`${target} is missing`);
    if (existsSync(path) || isSymlink(path)) {
      if (!o.force && !isOurs(path, root) && !readFileSafe(path).includes(SHIM_MARK)) {
        throw new Error(`${path} exists and was not written by docker-sign (use --force to replace it)`);
      }
      rmSync(path, { force: true });
    }
    if (o.symlink) {
      chmodSync(target, 0o755);
      symlinkSync(target, path);
      res.plugins.push({ name, path, target, kind: 'symlink' });
    } else {
      replaceFile(path, shimText(nodePath, target, name, root), 0o755);
      res.plugins.push({ name, path, target, kind: 'shim' });
    }
  }
  if (o.shell) {
    const shellFile = join(o.dockerConfig, 'docker-sign.sh');
    replaceFile(shellFile, shellWrapperText(), 0o644);
    res.shellFile = shellFile;
    const line = rcLine(shellFile);
    for (const rc of o.rcFiles ?? defaultRcFiles(o.home ?? process.env.HOME ?? '/root')) {
      const cur = readFileSafe(rc);
      if (cur.split('\n').some((l) => l.includes(RC_MARK))) {
        // already there (maybe for another path): replace our line, keep the rest
        const next = cur.split('\n').map((l) => (l.includes(RC_MARK) ? line : l)).join('\n');
        if (next !== cur) {
          replaceFile(rc, next, 0o644);
          res.rcFilesUpdated.push(rc);
        }
        continue;
      }
      replaceFile(rc, `${cur}${cur.length && !cur.endsWith('\n') ? '\n' : ''}${line}\n`, 0o644);
      res.rcFilesUpdated.push(rc);
    }
  }
  if (o.hooks) {
    const cfgFile = join(o.dockerConfig, 'config.json');
    const cfg = readJsonObject(cfgFile);
    cfg.features = { ...(cfg.features ?? {}), hooks: 'true' };
    cfg.plugins = { ...(cfg.plugins ?? {}), sign: { ...(cfg.plugins?.sign ?? {}), hooks: 'push,pull' } };
    // A copy of the file as it was before docker-sign first changed it: under a name of ours (a user's own
    // config.json.bak stays theirs), written once (a later install keeps the original), and private like
    // config.json, which may hold registry credentials.
    if (existsSync(cfgFile)) {
      try {
        writeFileSync(`${cfgFile}.before-docker-sign`, readFileSync(cfgFile), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    replaceFile(cfgFile, JSON.stringify(cfg, null, '\t') + '\n', 0o600);
    res.hooksConfig = cfgFile;
  }
  return res;
}

export interface UninstallResult {
  removed: string[];
  rcFilesUpdated: string[];
  hooksConfig?: string;
}

export function uninstall(o: InstallOptions): UninstallResult {
  const root = o.root ?? packageRoot();
  const res: UninstallResult = { removed: [], rcFilesUpdated: [] };
  for (const name of PLUGIN_NAMES) {
    const path = join(o.dockerConfig, 'cli-plugins', `docker-${name}`);
    if ((existsSync(path) || isSymlink(path)) && (o.force || isOurs(path, root) || readFileSafe(path).includes(SHIM_MARK))) {
      rmSync(path, { force: true });
      res.removed.push(path);
    }
  }
  const shellFile = join(o.dockerConfig, 'docker-sign.sh');
  if (existsSync(shellFile)) {
    rmSync(shellFile, { force: true });
    res.removed.push(shellFile);
  }
  const home = o.home ?? process.env.HOME ?? '/root';
  for (const rc of o.rcFiles ?? [join(home, '.bashrc'), join(home, '.zshrc')]) {
    const cur = readFileSafe(rc);
    if (!cur.includes(RC_MARK)) continue;
    replaceFile(rc, cur.split('\n').filter((l) => !l.includes(RC_MARK)).join('\n'), 0o644);
    res.rcFilesUpdated.push(rc);
  }
  const cfgFile = join(o.dockerConfig, 'config.json');
  if (existsSync(cfgFile)) {
    const cfg = readJsonObject(cfgFile);
    if (cfg.plugins?.sign?.hooks !== undefined) {
      delete cfg.plugins.sign.hooks;
      if (Object.keys(cfg.plugins.sign).length === 0) delete cfg.plugins.sign;
      if (Object.keys(cfg.plugins).length === 0) delete cfg.plugins;
      replaceFile(cfgFile, JSON.stringify(cfg, null, '\t') + '\n', 0o600);
      res.hooksConfig = cfgFile;
    }
  }
  return res;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
