/**
 * Verdict cache: results of signature verification keyed by what was verified (a manifest digest, or a local
 * image Id with its RepoDigests) plus the policy hash (sha256 over the trust policy and the trust store), so a
 * policy or trust-store change makes every old entry unreachable. Entries expire after their TTL; a revocation
 * or an explicit `invalidate()` (SIGHUP, the guard's invalidate endpoint) drops everything.
 */
export interface CacheEntry<V> {
  value: V;
  expires: number;
}

export class VerdictCache<V> {
  private readonly map = new Map<string, CacheEntry<V>>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 10_000) {}

  static key(parts: readonly string[], policyHash: string): string {
    return `${parts.join('|')}#${policyHash}`;
  }

  get(key: string, now: number): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    if (e.expires <= now) {
      this.map.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e.value;
  }

  set(key: string, value: V, ttlMs: number, now: number): void {
    if (ttlMs <= 0) return;
    if (this.map.size >= this.maxEntries) {
      // Drop the oldest insertion (Map keeps insertion order): bounded memory under a flood of distinct images.
      const first = this.map.keys().next();
      if (!first.done) this.map.delete(first.value);
    }
    this.map.delete(key);
    this.map.set(key, { value, expires: now + ttlMs });
  }

  invalidate(): number {
    const n = this.map.size;
    this.map.clear();
    return n;
  }

  get size(): number {
    return this.map.size;
  }
}
