import type { X509Certificate } from 'node:crypto';

/** node:crypto prints a DN one attribute per line, most significant first; shown as "CN=…, O=…, C=…". */
export const dn = (s: string | undefined): string => (s ?? '').split('\n').reverse().join(', ');

/** A certificate's subject on one line in node's order ("C=…, O=…, CN=…"); node reports none for an empty subject. */
export const subjectLine = (c: X509Certificate): string => (c.subject ?? '').split('\n').join(', ');

/** What ls/inspect and `key ls` show of a certificate. */
export function certificateSummary(c: X509Certificate): { subject: string; issuer: string; sha256Fingerprint: string; notBefore: string; notAfter: string } {
  return {
    subject: dn(c.subject),
    issuer: dn(c.issuer),
    sha256Fingerprint: c.fingerprint256,
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
  };
}
