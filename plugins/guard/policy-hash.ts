import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';

/**
 * The "policy hash": sha256 over the trust policy file(s) and every file of the trust store (relative path +
 * content, sorted). Verdicts are cached under it, so editing trustpolicy.json or adding/removing a certificate
 * makes all cached verdicts unreachable at once.
 *
 * Changes are noticed by fs.watch (immediate) and by a stat poll (default every 1 s; fs.watch can miss events,
 * e.g. when a directory is replaced). `current()` returns the up-to-date hash, recomputing when dirty.
 */
export interface PolicyFiles {
  trustPolicy: string;
  trustPolicyOci: string;
  trustStore: string;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

async function fileSet(files: PolicyFiles): Promise<string[]> {
  return [files.trustPolicy, files.trustPolicyOci, ...(await listFiles(files.trustStore))].sort();
}

/** Cheap fingerprint: path, size, mtime, inode of every file (or "-" when missing). */
export async function policyFingerprint(files: PolicyFiles): Promise<string> {
  const parts: string[] = [];
  for (const f of await fileSet(files)) {
    try {
      const s = await stat(f);
      parts.push(`${f}:${s.size}:${s.mtimeMs}:${s.ino}`);
    } catch {
      parts.push(`${f}:-`);
    }
  }
  return parts.join('\n');
}

export async function computePolicyHash(files: PolicyFiles): Promise<string> {
  const h = createHash('sha256');
  const base = files.trustStore;
  for (const f of await fileSet(files)) {
    let content: Buffer;
    try {
      content = await readFile(f);
    } catch {
      h.update(`missing:${f}\n`);
      continue;
    }
    const name = f.startsWith(base) ? `truststore/${relative(base, f)}` : f;
    h.update(`${name}\n${content.length}\n`);
    h.update(content);
  }
  return `sha256:${h.digest('hex')}`;
}

export class PolicyState {
  private hash = '';
  private fingerprint = '';
  private dirty = true;
  private pending: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private listeners: ((hash: string) => void)[] = [];

  constructor(private readonly files: PolicyFiles, private readonly pollMs = 1000) {}

  /** Computes the first hash and starts watching. */
  async start(): Promise<string> {
    const h = await this.current();
    // Only events about the policy files / the trust store mark the hash dirty: the config dir also holds the
    // audit log and the local store, which change all the time.
    const rootNames = new Set([basename(this.files.trustPolicy), basename(this.files.trustPolicyOci), basename(this.files.trustStore)]);
    for (const dir of [this.files.trustStore, dirname(this.files.trustPolicy)]) {
      try {
        const isStore = dir === this.files.trustStore;
        const w = watch(dir, { recursive: isStore, persistent: false }, (_event, name) => {
          if (isStore || name === null || rootNames.has(String(name))) this.dirty = true;
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // the directory may not exist yet; the poll covers it
      }
    }
    if (this.pollMs > 0) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    }
    return h;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  onChange(fn: (hash: string) => void): void {
    this.listeners.push(fn);
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Synchronous peek (may be stale by up to one poll interval); use current() before trusting a cache entry. */
  get peek(): string {
    return this.hash;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  async current(): Promise<string> {
    if (!this.dirty && this.hash) return this.hash;
    if (!this.pending) {
      this.pending = (async () => {
        this.dirty = false;
        const fp = await policyFingerprint(this.files);
        const h = await computePolicyHash(this.files);
        const changed = this.hash !== '' && h !== this.hash;
        this.hash = h;
        this.fingerprint = fp;
        if (changed) for (const l of this.listeners) l(h);
        return h;
      })().finally(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  private async poll(): Promise<void> {
    try {
      const fp = await policyFingerprint(this.files);
      if (fp !== this.fingerprint) {
        this.dirty = true;
        await this.current();
      }
    } catch {
      this.dirty = true;
    }
  }
}
