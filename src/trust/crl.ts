/**
 * CRLs (RFC 5280 section 5) for one certificate, checked the way notation-core-go checks them:
 *
 *  - the CRL is DER (Go's x509.ParseRevocationList; a PEM CRL is refused) and signed with the issuer's key; an issuer
 *    whose keyUsage lacks cRLSign, or that is not a CA, cannot sign one. Like notation (crl.CheckSignatureFrom), the
 *    CRL's issuer Name is not compared with the certificate's: the signature by the issuer is what counts;
 *  - nextUpdate must be present and not past; thisUpdate not in the future (5 minutes of skew);
 *  - as in notation v1.3 (notation-core-go v1.2, before delta CRL support): a freshestCRL pointer on the certificate
 *    is ignored (the base CRL is checked as usual), while a CRL that itself carries a freshestCRL extension is refused
 *    ("delta CRL is not supported"), as are delta CRLs (deltaCRLIndicator) and indirect CRLs (the answer is then
 *    'unknown'); any other unknown critical extension is refused too;
 *  - an entry for the serial number means revoked, except: when the signing time (signingAuthority) is before the
 *    entry's invalidityDate the entry is ignored; certificateHold counts as revoked unless a later removeFromCRL
 *    entry lifts it.
 * Problems throw PkixError with what went wrong; the caller turns that into 'unknown'.
 */
import type { X509Certificate } from 'node:crypto';
import { certInfo, children, readTlv, type Tlv } from './x509.js';
import { bytesOf, extensionsOf, fail, invalidityDateOf, rawOf, serialHex, signedParts, timeOf, verifySigned } from './pkix.js';
import { CLOCK_SKEW_MS } from './ocsp.js';

const OID_REASON = '2.5.29.21';
const OID_INVALIDITY_DATE = '2.5.29.24';
const OID_DELTA_INDICATOR = '2.5.29.27';
const OID_ISSUING_DP = '2.5.29.28';
const OID_FRESHEST_CRL = '2.5.29.46';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const REASON_CERTIFICATE_HOLD = 6;
const REASON_REMOVE_FROM_CRL = 8;

export interface CrlEntry {
  revocationTime: Date;
  reason?: number;
  invalidityDate?: Date;
  /** Set when the entry carries a critical extension this checker does not understand. */
  unsupported?: string;
}

export interface VerifiedCrl {
  thisUpdate: Date;
  nextUpdate: Date;
  /** Entries by serial number (hex, no leading zeros). */
  entries: Map<string, CrlEntry[]>;
}

function parseEntry(b: Buffer, e: Tlv): [string, CrlEntry] {
  const [serial, when, exts] = children(b, e);
  if (!serial || serial.tag !== 0x02) fail('malformed CRL entry');
  const entry: CrlEntry = { revocationTime: timeOf(b, when, 'CRL entry revocationDate') };
  if (exts) {
    for (const x of extensionsOf(b, exts)) {
      if (x.oid === OID_REASON) {
        const t = readTlv(x.value, 0);
        if (t.tag !== 0x0a) fail('malformed CRL entry reason code');
        entry.reason = x.value[t.start];
      } else if (x.oid === OID_INVALIDITY_DATE) entry.invalidityDate = invalidityDateOf(x.value);
      else if (x.critical) entry.unsupported = `unsupported critical extension ${x.oid} in the CRL entry`;
    }
  }
  return [serialHex(bytesOf(b, serial)), entry];
}

/**
 * Parses `b` (DER) as a CRL of `issuer` and checks it at `now`. Throws PkixError when unusable. Which certificate
 * it is asked about shows only in crlStatus.
 */
export function verifyCrl(b: Buffer, issuer: X509Certificate, now: Date): VerifiedCrl {
  if (b.subarray(0, 64).toString('latin1').includes('-----BEGIN')) fail('the CRL is PEM; only DER CRLs are accepted (as by notation)');
  let top: Tlv;
  try {
    top = readTlv(b, 0);
  } catch {
    fail('the CRL is not DER');
  }
  if (top.end !== b.length) fail('trailing bytes after the CRL');
  const { tbs, alg, sig } = signedParts(b, top, 'CRL');
  const f = children(b, tbs);
  let i = 0;
  // Go's x509.ParseRevocationList reads v2 CRLs only (the version field present, INTEGER 1): a v1 CRL (no version,
  // what `openssl ca -gencrl` writes without CRL extensions) is "x509: unsupported crl version" for notation
  const version = f[0]?.tag === 0x02 ? f[0] : undefined;
  if (!version) fail('unsupported CRL version: v1 (only v2 CRLs are accepted, as by notation)');
  if (version.end - version.start !== 1 || b[version.start] !== 1) fail(`unsupported CRL version (${bytesOf(b, version).toString('hex')}; only v2 is accepted)`);
  i++;
  const innerAlg = f[i++];
  if (!innerAlg || !rawOf(b, innerAlg).equals(rawOf(b, alg))) fail('the CRL signature algorithms disagree');
  const issuerName = f[i++];
  if (!issuerName || issuerName.tag !== 0x30) fail('malformed CRL issuer');
  const thisUpdate = timeOf(b, f[i++], 'CRL thisUpdate');
  let nextUpdate: Date | undefined;
  if (f[i] && (f[i]!.tag === 0x17 || f[i]!.tag === 0x18)) nextUpdate = timeOf(b, f[i++], 'CRL nextUpdate');
  let revoked: Tlv | undefined;
  if (f[i]?.tag === 0x30) revoked = f[i++];
  const extWrap = f[i]?.tag === 0xa0 ? f[i++] : undefined;
  if (i !== f.length) fail('malformed CRL');

  const ii = certInfo(issuer);
  if (ii.keyUsage && !ii.keyUsage.has('cRLSign')) fail(`the issuer "${ii.subject}" may not sign CRLs (keyUsage without cRLSign)`);
  // Go's RevocationList.CheckSignatureFrom: a v3 issuer needs basicConstraints with cA=true.
  if (!ii.basicConstraints?.ca) fail(`the issuer "${ii.subject}" is not a CA`);
  if (!verifySigned(b, tbs, alg, sig, issuer.publicKey)) fail(`the CRL signature does not verify with the key of "${ii.subject}"`);

  if (!nextUpdate) fail('the CRL has no nextUpdate');
  if (now > nextUpdate) fail(`expired CRL (nextUpdate ${nextUpdate.toISOString()})`);
  if (thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) fail(`the CRL is not yet valid (thisUpdate ${thisUpdate.toISOString()})`);

  if (extWrap) {
    for (const x of extensionsOf(b, children(b, extWrap)[0]!)) {
      if (x.oid === OID_DELTA_INDICATOR) fail('the CRL is a delta CRL (not supported)');
      if (x.oid === OID_FRESHEST_CRL) fail('delta CRL is not supported (the CRL carries a freshestCRL extension)');
      if (x.oid === OID_ISSUING_DP) {
        // IssuingDistributionPoint: indirectCRL is [4] BOOLEAN
        const idp = readTlv(x.value, 0);
        for (const c of children(x.value, idp)) {
          if (c.tag === 0x84 && x.value[c.start] !== 0) fail('the CRL is an indirect CRL (not supported)');
        }
      } else if (x.critical && x.oid !== OID_CRL_NUMBER && x.oid !== OID_AUTHORITY_KEY_ID) {
        fail(`unsupported critical extension ${x.oid} in the CRL`);
      }
    }
  }

  const entries = new Map<string, CrlEntry[]>();
  if (revoked) {
    for (const e of children(b, revoked)) {
      const [serial, entry] = parseEntry(b, e);
      const list = entries.get(serial);
      if (list) list.push(entry);
      else entries.set(serial, [entry]);
    }
  }
  return { thisUpdate, nextUpdate, entries };
}

/** The certificate's status in a verified CRL, with notation's invalidity-date and hold rules. Throws PkixError. */
export function crlStatus(crl: VerifiedCrl, cert: X509Certificate, signingTime?: Date): { status: 'ok' | 'revoked'; detail: string } {
  const list = crl.entries.get(serialHex(certInfo(cert).serial));
  if (!list) return { status: 'ok', detail: 'not listed' };
  let latestTemporary: CrlEntry | undefined;
  for (const e of list) {
    if (e.unsupported) fail(e.unsupported);
    if (signingTime && e.invalidityDate && signingTime < e.invalidityDate) continue;
    if (e.reason === REASON_CERTIFICATE_HOLD || e.reason === REASON_REMOVE_FROM_CRL) {
      if (!latestTemporary || latestTemporary.revocationTime < e.revocationTime) latestTemporary = e;
      continue;
    }
    return { status: 'revoked', detail: `revoked at ${e.revocationTime.toISOString()}${e.reason !== undefined ? ` (reason ${e.reason})` : ''}` };
  }
  if (latestTemporary?.reason === REASON_CERTIFICATE_HOLD) return { status: 'revoked', detail: `on hold since ${latestTemporary.revocationTime.toISOString()}` };
  return { status: 'ok', detail: latestTemporary ? 'removed from the CRL' : 'listed before the invalidity date only' };
}
