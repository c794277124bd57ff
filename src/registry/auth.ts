/**
 * Registry authentication: parsing WWW-Authenticate challenges (RFC 7235) and the distribution token flow
 * (GET <realm>?service=…&scope=repository:<name>:pull[,push], optional basic credentials; the response carries
 * `token` or `access_token` and `expires_in`). Tokens are reused per scope set until shortly before they expire.
 */
export interface Challenge {
  scheme: string; // lower-case: "basic" | "bearer" | …
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header value into challenges. Tolerates commas inside quoted strings. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  let i = 0;
  const n = text.length;
  const skipWs = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++;
  };
  while (i < n) {
    skipWs();
    const m = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(text.slice(i));
    if (!m) break;
    const scheme = m[0].toLowerCase();
    i += m[0].length;
    const params: Record<string, string> = {};
    // auth-params: key=value or key="quoted", separated by commas; a token without '=' starts the next challenge
    for (;;) {
      const save = i;
      skipWs();
      const km = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(text.slice(i));
      if (!km) {
        i = save;
        break;
      }
      i += km[0].length;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          value += text[i];
          i++;
        }
        i++; // closing quote
      } else {
        const vm = /^[^,\s]*/.exec(text.slice(i));
        value = vm ? vm[0] : '';
        i += value.length;
      }
      params[km[1]!.toLowerCase()] = value;
    }
    out.push({ scheme, params });
  }
  return out;
}

/** "repository:<name>:pull,push" */
export function repositoryScope(name: string, actions: readonly string[]): string {
  return `repository:${name}:${[...actions].join(',')}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Per-client token cache keyed by the sorted scope list. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  static key(scopes: readonly string[]): string {
    return [...new Set(scopes)].sort().join(' ');
  }
  get(scopes: readonly string[], now = Date.now()): string | undefined {
    const t = this.tokens.get(TokenCache.key(scopes));
    if (t && t.expiresAt > now) return t.token;
    return undefined;
  }
  set(scopes: readonly string[], token: string, expiresInSec: number, now = Date.now()): void {
    // keep a margin so a token does not expire in flight
    const life = Math.max(1, expiresInSec) * 1000;
    this.tokens.set(TokenCache.key(scopes), { token, expiresAt: now + Math.max(life - Math.min(30_000, life / 5), 500) });
  }
  clear(scopes: readonly string[]): void {
    this.tokens.delete(TokenCache.key(scopes));
  }
}
