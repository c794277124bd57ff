/**
 * Reading a trust policy file the user names (policy import / validate), and writing the trust policy file (policy
 * init / import): validated first, written atomically, never over a file silently.
 */
import { dirname } from 'node:path';
import type { ConfigPaths } from '../config/dir.js';
import { PolicyError } from './errors.js';
import { locateTrustPolicy, parseTrustPolicy, validateTrustPolicy, type TrustPolicy } from './policy.js';
import { mkdirs } from '../config/mkdir.js';
import { readInputFile, replaceFile } from '../config/files.js';

/** Far beyond any real policy; reading stops there (a device or a wrong file given by mistake). */
const MAX_POLICY_FILE_BYTES = 256 << 20;

/** Reads and parses the trust policy file `file` the user named (not the installed one: loadTrustPolicy). */
export function readTrustPolicyFile(file: string): TrustPolicy {
  let text: string;
  try {
    text = readInputFile(file, MAX_POLICY_FILE_BYTES).toString('utf8');
  } catch (e) {
    throw new PolicyError('POLICY_UNREADABLE', `cannot read ${file}: ${(e as Error).message}`);
  }
  return parseTrustPolicy(text, file);
}

/** Validates `doc` and writes it where the effective policy lives (trustpolicy.oci.json if that exists, else trustpolicy.json). */
export async function writeTrustPolicy(paths: ConfigPaths, doc: unknown, opts: { force?: boolean } = {}): Promise<{ path: string; policy: TrustPolicy; replaced: boolean }> {
  const policy = validateTrustPolicy(doc);
  const existing = await locateTrustPolicy(paths);
  if (existing && !opts.force) {
    throw new PolicyError('POLICY_INVALID', `a trust policy already exists at ${existing}`, { hint: 'pass --force to replace it' });
  }
  const path = existing ?? paths.trustPolicy;
  await mkdirs(dirname(path), 0o755);
  // an existing policy keeps its link, mode and owner (src/config/files.ts)
  replaceFile(path, JSON.stringify(policy.document, null, 2) + '\n', 0o644);
  return { path, policy, replaced: existing !== undefined };
}
