/**
 * Revocation checking. The verifier calls a RevocationChecker for the signing chain (and for a TSA chain); the result
 * per certificate follows notation-core-go's vocabulary (ok / revoked / unknown / nonRevokable, leaf first).
 *
 * `networkRevocationChecker` (the Verifier's default) does what notation v1.2+ does: for each certificate but the
 * root, OCSP first (ocsp.ts) when it has an AIA OCSP URL; CRL (crl.ts) when it has CRL distribution points and OCSP
 * is absent or gave no answer ("OCSP then CRL fallback"); neither pointer → nonRevokable, with no network I/O and no
 * OCSP/CRL code loaded; the root is not checked (nonRevokable). Every network call is bounded in time (notation's
 * 2 s for OCSP, 5 s for a CRL download) and size (OCSP 20 KiB, CRL 32 MiB), a whole check in time (10 s), the
 * caller's AbortSignal is honoured, and any failure is 'unknown' with the reason in `detail`, which fails closed when
 * revocation is enforced. Good / revoked answers are cached in process until their nextUpdate (OCSP per issuer +
 * serial, CRLs per URL + issuer).
 * `offlineRevocationChecker` does no network I/O: a certificate with OCSP or CRL pointers is "unknown".
 */
import type { X509Certificate } from 'node:crypto';
import { certInfo, issuedBy } from './x509.js';
import { httpFetch, type RevocationFetch } from './revocation-http.js';
import type { OcspAnswer } from './ocsp.js';
import type { VerifiedCrl } from './crl.js';

export type { RevocationFetch, RevocationFetchRequest } from './revocation-http.js';

export type RevocationStatus = 'ok' | 'revoked' | 'unknown' | 'nonRevokable';

export interface CertRevocationResult {
  status: RevocationStatus;
  /** Which method gave the answer, or why none did. */
  detail?: string;
}

export interface RevocationCheckOptions {
  purpose: 'codeSigning' | 'timestamping';
  /** notary.x509.signingAuthority: the authentic signing time (for invalidity-date comparisons). */
  signingTime?: Date;
  now: Date;
  signal?: AbortSignal;
}

export interface RevocationChecker {
  /** One result per certificate of `chain` (leaf first), same order. */
  check(chain: X509Certificate[], opts: RevocationCheckOptions): Promise<CertRevocationResult[]>;
}

export const offlineRevocationChecker: RevocationChecker = {
  async check(chain) {
    return chain.map((c) => {
      const i = certInfo(c);
      if (i.ocspUrls.length === 0 && i.crlUrls.length === 0) return { status: 'nonRevokable' as const };
      return {
        status: 'unknown' as const,
        detail: `certificate has ${i.ocspUrls.length ? `OCSP ${i.ocspUrls.join(' ')}` : ''}${i.ocspUrls.length && i.crlUrls.length ? ' and ' : ''}${i.crlUrls.length ? `CRL ${i.crlUrls.join(' ')}` : ''} but no revocation checker is configured`,
      };
    });
  },
};

/**
 * Folds per-certificate results into one (notation's rule): revoked anywhere → revoked; all ok/nonRevokable → ok;
 * otherwise unknown. Also returns the warnings notation logs for non-root certificates without revocation info.
 */
export function revocationFinalResult(chain: X509Certificate[], results: CertRevocationResult[]): { status: 'ok' | 'revoked' | 'unknown'; subject?: string; detail?: string; warnings: string[] } {
  const warnings: string[] = [];
  let status: 'ok' | 'revoked' | 'unknown' = 'ok';
  let subject: string | undefined;
  let detail: string | undefined;
  if (results.length !== chain.length) return { status: 'unknown', detail: 'revocation checker returned a result count that does not match the chain', warnings };
  for (let i = chain.length - 1; i >= 0; i--) {
    const r = results[i]!;
    const subj = certInfo(chain[i]!).subject;
    if (r.status === 'revoked') {
      status = 'revoked';
      subject = subj;
      detail = r.detail;
    } else if (r.status === 'unknown' && status !== 'revoked') {
      status = 'unknown';
      subject = subj;
      detail = r.detail;
    }
    if (i < chain.length - 1 && r.status === 'nonRevokable') {
      warnings.push(`Certificate #${i + 1} in the chain with subject "${subj}" neither has an OCSP nor a CRL revocation method.`);
    }
  }
  return { status, subject, detail, warnings };
}

export interface NetworkRevocationOptions {
  /** Time limit of each OCSP call, connection to last byte (default 2000 ms, notation's). */
  timeoutMs?: number;
  /** Time limit of each CRL download, connection to last byte (default 5000 ms, notation's). */
  crlTimeoutMs?: number;
  /** Time limit of one check() over a whole chain (default 10000 ms). */
  totalTimeoutMs?: number;
  /** Largest OCSP response read (default 20480 bytes, notation's; a larger one is an error, so 'unknown'). */
  maxOcspResponseBytes?: number;
  /** Largest CRL read (default 32 MiB). */
  maxCrlBytes?: number;
  /** Keep good/revoked answers in process until their nextUpdate (default true). */
  cache?: boolean;
  /** The HTTP client (default: node:http with the limits above). Tests pass a counting wrapper. */
  fetch?: RevocationFetch;
}

export const REVOCATION_DEFAULTS = {
  timeoutMs: 2000,
  crlTimeoutMs: 5000,
  totalTimeoutMs: 10_000,
  maxOcspResponseBytes: 20_480,
  maxCrlBytes: 32 << 20,
} as const;

/** A small map whose entries expire at a given time and whose oldest entries go first when full. */
class ExpiringCache<T> {
  private readonly map = new Map<string, { value: T; until: Date }>();
  constructor(private readonly max: number) {}
  get(key: string, now: Date): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (now > e.until) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: T, until: Date): void {
    this.map.delete(key);
    this.map.set(key, { value, until });
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

type OcspModule = typeof import('./ocsp.js');
type CrlModule = typeof import('./crl.js');

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isHttpUrl(u: string): boolean {
  return /^http:\/\//i.test(u);
}

/** The network checker (OCSP, then CRL); see the module comment. Each call returns a checker with its own cache. */
export function networkRevocationChecker(options: NetworkRevocationOptions = {}): RevocationChecker {
  const cfg = { ...REVOCATION_DEFAULTS, ...options };
  const fetch = options.fetch ?? httpFetch;
  const useCache = options.cache !== false;
  const ocspCache = new ExpiringCache<OcspAnswer>(4096);
  const crlCache = new ExpiringCache<VerifiedCrl>(32);

  function ocspVerdict(a: OcspAnswer, from: string, signingTime?: Date): CertRevocationResult {
    if (a.status === 'good') return { status: 'ok', detail: `OCSP ${from}: good` };
    if (a.status === 'unknown') return { status: 'unknown', detail: `OCSP ${from}: the responder does not know the certificate` };
    if (signingTime && a.invalidityDate && signingTime < a.invalidityDate) {
      return { status: 'ok', detail: `OCSP ${from}: revoked, but invalid only from ${a.invalidityDate.toISOString()}, after the signing time` };
    }
    return { status: 'revoked', detail: `OCSP ${from}: revoked at ${a.revocationTime!.toISOString()}${a.reason !== undefined ? ` (reason ${a.reason})` : ''}` };
  }

  async function viaOcsp(m: OcspModule, cert: X509Certificate, issuer: X509Certificate, urls: string[], opts: RevocationCheckOptions, signal: AbortSignal): Promise<CertRevocationResult> {
    const key = `${issuer.fingerprint256}/${cert.serialNumber}`;
    const hit = useCache ? ocspCache.get(key, opts.now) : undefined;
    if (hit && hit.thisUpdate.getTime() <= opts.now.getTime() + m.CLOCK_SKEW_MS) return ocspVerdict(hit, '(cached)', opts.signingTime);
    const errors: string[] = [];
    for (const url of urls) {
      if (!isHttpUrl(url)) {
        errors.push(`${url}: only http OCSP URLs are supported`);
        continue;
      }
      try {
        const req = m.ocspRequest(cert, issuer);
        const get = m.ocspGetUrl(url, req);
        const common = { maxBytes: cfg.maxOcspResponseBytes, timeoutMs: cfg.timeoutMs, signal };
        const body = await fetch(get ? { url: get, method: 'GET', ...common } : { url, method: 'POST', body: req, contentType: 'application/ocsp-request', ...common });
        const answer = m.parseOcspResponse(body, cert, issuer, opts.now);
        if (useCache && answer.status !== 'unknown' && answer.nextUpdate) ocspCache.set(key, answer, answer.nextUpdate);
        // a valid answer ends the search, even "unknown" (notation: other servers' errors do not matter then)
        return ocspVerdict(answer, url, opts.signingTime);
      } catch (e) {
        errors.push(`${url}: ${message(e)}`);
      }
    }
    return { status: 'unknown', detail: `OCSP ${errors.join('; ')}` };
  }

  async function viaCrl(m: CrlModule, cert: X509Certificate, issuer: X509Certificate, urls: string[], opts: RevocationCheckOptions, signal: AbortSignal): Promise<CertRevocationResult> {
    // A freshestCRL (delta CRL) pointer on the certificate is ignored and the base CRL checked as usual, as notation
    // v1.3 does; a base CRL that itself announces delta CRLs is refused by verifyCrl.
    const said: string[] = [];
    // every distribution point is checked (a CRL may be partitioned), the first failure makes the answer unknown
    for (const url of urls) {
      if (!isHttpUrl(url)) return { status: 'unknown', detail: `CRL ${url}: only http CRL URLs are supported` };
      try {
        const key = `${url}\n${issuer.fingerprint256}`;
        let crl = useCache ? crlCache.get(key, opts.now) : undefined;
        if (!crl) {
          const body = await fetch({ url, method: 'GET', maxBytes: cfg.maxCrlBytes, timeoutMs: cfg.crlTimeoutMs, signal });
          crl = m.verifyCrl(body, issuer, opts.now);
          if (useCache) crlCache.set(key, crl, crl.nextUpdate);
        }
        const s = m.crlStatus(crl, cert, opts.signingTime);
        if (s.status === 'revoked') return { status: 'revoked', detail: `CRL ${url}: ${s.detail}` };
        said.push(`CRL ${url}: ${s.detail}`);
      } catch (e) {
        return { status: 'unknown', detail: `CRL ${url}: ${message(e)}` };
      }
    }
    return { status: 'ok', detail: said.join('; ') };
  }

  async function checkOne(mods: [OcspModule, CrlModule], cert: X509Certificate, issuer: X509Certificate, opts: RevocationCheckOptions, signal: AbortSignal): Promise<CertRevocationResult> {
    const info = certInfo(cert);
    if (!issuedBy(cert, issuer)) {
      return { status: 'unknown', detail: 'the certificate is not issued by the next certificate of the chain' };
    }
    let ocsp: CertRevocationResult | undefined;
    if (info.ocspUrls.length > 0) {
      ocsp = await viaOcsp(mods[0], cert, issuer, info.ocspUrls, opts, signal);
      if (ocsp.status !== 'unknown' || info.crlUrls.length === 0) return ocsp;
    }
    const crl = await viaCrl(mods[1], cert, issuer, info.crlUrls, opts, signal);
    if (!ocsp) return crl;
    return { status: crl.status, detail: `${ocsp.detail}; fallback to ${crl.detail}` };
  }

  return {
    async check(chain, opts) {
      const last = chain.length - 1;
      const infos = chain.map((c) => certInfo(c));
      const wanted = infos.map((i, n) => n < last && (i.ocspUrls.length > 0 || i.crlUrls.length > 0));
      if (!wanted.includes(true)) return chain.map(() => ({ status: 'nonRevokable' as const }));
      const mods = await Promise.all([import('./ocsp.js'), import('./crl.js')]);
      const total = AbortSignal.timeout(cfg.totalTimeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, total]) : total;
      return Promise.all(
        chain.map(async (c, n): Promise<CertRevocationResult> => {
          if (!wanted[n]) return { status: 'nonRevokable' };
          try {
            return await checkOne(mods, c, chain[n + 1]!, opts, signal);
          } catch (e) {
            return { status: 'unknown', detail: message(e) };
          }
        }),
      );
    },
  };
}

let shared: RevocationChecker | undefined;

/** The process-wide network checker (one cache for every Verifier that does not bring its own checker). */
export function defaultRevocationChecker(): RevocationChecker {
  return (shared ??= networkRevocationChecker());
}
