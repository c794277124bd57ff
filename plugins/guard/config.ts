import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { ConfigPaths } from '../../src/config/dir.js';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_DECIDE_OPTIONS, type DecideOptions, type GatePolicy } from './decide.js';

/**
 * Guard configuration: `<config>/guard/config.json` (all keys optional):
 * {
 *   "name": "docker-sign",                       plug-in name (socket file name, daemon.json entry)
 *   "socket": "/run/docker/plugins/docker-sign.sock",
 *   "dockerHost": "unix:///var/run/docker.sock",   the engine the guard looks images up in (default $DOCKER_HOST)
 *   "timeoutMs": 10000, "cacheTtlMs": 60000, "denyCacheTtlMs": 2000,
 *   "auditLog": "<config>/guard/audit.log",        "" disables
 *   "registries": {"host:port": {"username": "u", "password": "p"} | {"dockerConfig": "/path/config.json"}},
 *   "insecureRegistries": ["127.0.0.1:5000"],      plain HTTP (loopback hosts are plain HTTP by default too)
 *   "onBuild": "allow", "onLoad": "allow", "onImport": "allow", "onCommit": "allow", "onPush": "allow",
 *   "onPlugin": "deny", "onService": "deny",
 *   "checkStart": true, "pullByDigestOnly": false, "localStore": true
 * }
 * The guard needs its own registry credentials: dockerd strips X-Registry-Auth before calling plug-ins.
 */
export type RegistryCredential = { username: string; password: string } | { dockerConfig: string };

export interface GuardConfig extends DecideOptions {
  name: string;
  socket: string;
  dockerHost: string;
  auditLog: string;
  registries: Record<string, RegistryCredential>;
  insecureRegistries: string[];
}

export const DEFAULT_PLUGIN_NAME = 'docker-sign';

export function defaultSocket(name = DEFAULT_PLUGIN_NAME): string {
  return `/run/docker/plugins/${name}.sock`;
}

export function guardConfigFile(paths: ConfigPaths): string {
  return join(paths.guard, 'config.json');
}

const GATES = ['onBuild', 'onLoad', 'onImport', 'onCommit', 'onPush', 'onPlugin', 'onService'] as const;

function bad(file: string, msg: string): never {
  throw new ConfigError('GUARD_CONFIG_INVALID', `${file}: ${msg}`, { hint: 'fix or remove the guard config file; every key is optional' });
}

/** Reads the config file (missing = defaults) and applies overrides (command-line flags). */
export function loadGuardConfig(paths: ConfigPaths, overrides: Partial<GuardConfig> = {}, env: NodeJS.ProcessEnv = process.env): GuardConfig {
  const file = guardConfigFile(paths);
  let raw: Record<string, unknown> = {};
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') bad(file, `cannot read: ${(e as Error).message}`);
  }
  if (text !== undefined) {
    try {
      raw = JSON.parse(text);
    } catch (e) {
      bad(file, `not valid JSON: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(file, 'must be a JSON object');
  }
  const name = str(raw.name, DEFAULT_PLUGIN_NAME, 'name', file);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) bad(file, `invalid plug-in name "${name}"`);
  const cfg: GuardConfig = {
    ...DEFAULT_DECIDE_OPTIONS,
    name,
    socket: str(raw.socket, defaultSocket(name), 'socket', file),
    dockerHost: str(raw.dockerHost, env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'dockerHost', file),
    auditLog: str(raw.auditLog, join(paths.guard, 'audit.log'), 'auditLog', file),
    timeoutMs: num(raw.timeoutMs, DEFAULT_DECIDE_OPTIONS.timeoutMs, 'timeoutMs', file),
    cacheTtlMs: num(raw.cacheTtlMs, DEFAULT_DECIDE_OPTIONS.cacheTtlMs, 'cacheTtlMs', file),
    denyCacheTtlMs: num(raw.denyCacheTtlMs, DEFAULT_DECIDE_OPTIONS.denyCacheTtlMs, 'denyCacheTtlMs', file),
    checkStart: bool(raw.checkStart, DEFAULT_DECIDE_OPTIONS.checkStart, 'checkStart', file),
    pullByDigestOnly: bool(raw.pullByDigestOnly, DEFAULT_DECIDE_OPTIONS.pullByDigestOnly, 'pullByDigestOnly', file),
    localStore: bool(raw.localStore, DEFAULT_DECIDE_OPTIONS.localStore, 'localStore', file),
    registries: {},
    insecureRegistries: [],
  };
  for (const g of GATES) {
    const v = raw[g];
    if (v === undefined) continue;
    if (v !== 'allow' && v !== 'deny') bad(file, `${g} must be "allow" or "deny"`);
    cfg[g] = v as GatePolicy;
  }
  if (raw.registries !== undefined) {
    if (typeof raw.registries !== 'object' || raw.registries === null || Array.isArray(raw.registries)) bad(file, 'registries must be an object');
    for (const [host, c] of Object.entries(raw.registries as Record<string, unknown>)) {
      const o = c as Record<string, unknown>;
      if (o && typeof o.username === 'string' && typeof o.password === 'string') cfg.registries[host] = { username: o.username, password: o.password };
      else if (o && typeof o.dockerConfig === 'string') cfg.registries[host] = { dockerConfig: o.dockerConfig };
      else bad(file, `registries["${host}"] needs {username, password} or {dockerConfig}`);
    }
  }
  if (raw.insecureRegistries !== undefined) {
    if (!Array.isArray(raw.insecureRegistries) || !raw.insecureRegistries.every((x) => typeof x === 'string')) bad(file, 'insecureRegistries must be an array of host[:port] strings');
    cfg.insecureRegistries = raw.insecureRegistries as string[];
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  checkSocketPath(cfg.socket, overrides.socket !== undefined ? '--socket' : file);
  return cfg;
}

/** The plug-in socket must be an absolute path: dockerd reads it from a spec file as unix:///path. */
export function checkSocketPath(socket: string, source: string): void {
  if (!isAbsolute(socket)) {
    throw new ConfigError('GUARD_CONFIG_INVALID', `${source}: the socket "${socket}" must be an absolute path`, {
      hint: `dockerd finds the plug-in by its absolute socket path, e.g. ${defaultSocket(DEFAULT_PLUGIN_NAME)}`,
    });
  }
}

function str(v: unknown, d: string, k: string, file: string): string {
  if (v === undefined) return d;
  if (typeof v !== 'string') bad(file, `${k} must be a string`);
  return v;
}
function num(v: unknown, d: number, k: string, file: string): number {
  if (v === undefined) return d;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(file, `${k} must be a non-negative number`);
  return v;
}
function bool(v: unknown, d: boolean, k: string, file: string): boolean {
  if (v === undefined) return d;
  if (typeof v !== 'boolean') bad(file, `${k} must be true or false`);
  return v;
}

/** "10s", "500ms", "2m", or a bare number of milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new ConfigError('INVALID_DURATION', `invalid duration "${s}"`, { hint: 'use e.g. 10s, 500ms or 2m' });
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000);
}
