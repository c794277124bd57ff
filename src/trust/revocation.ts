/**
 * Revocation checking hook. The verifier calls a RevocationChecker for the signing chain (and would for a TSA
 * chain); the result per certificate follows notation-core-go's vocabulary. The default checker does no network
 * I/O: a certificate without OCSP or CRL pointers is "nonRevokable" (notation logs a warning and passes); one that
 * has them is "unknown" because this build cannot query them — which fails closed when revocation is enforced.
 * The key-management work plugs a real OCSP/CRL checker in through `VerifierOptions.revocation`.
 */
import type { X509Certificate } from 'node:crypto';
import { certInfo } from './x509.js';

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
