/** Text rendering of verification reports (verify -v, policy explain). No I/O, no oclif. */
import type { VerificationReport } from './verifier.js';

const CHECK_LABEL: Record<string, string> = {
  integrity: 'integrity',
  authenticity: 'authenticity',
  authenticTimestamp: 'authentic timestamp',
  expiry: 'expiry',
  revocation: 'revocation',
};

function mark(status: string, action: string): string {
  if (status === 'pass') return 'pass';
  if (status === 'skipped') return 'skipped';
  return action === 'enforce' ? 'FAIL' : 'fail (logged)';
}

/** The one-line error for a failed verification, naming the failing check. */
export function failureMessage(r: VerificationReport): string {
  const reason = r.reason ?? 'no signature satisfied the trust policy';
  return reason.startsWith('signature verification failed') ? reason : `signature verification failed: ${reason}`;
}

/** Multi-line explanation: policy, level, and each signature's checks with status, action and reason. */
export function explainReport(r: VerificationReport): string {
  const lines: string[] = [];
  lines.push(`Artifact:  ${r.reference}`);
  lines.push(`Policy:    ${r.policy === null ? '(none applies)' : `"${r.policy}"`}${r.level ? `, level ${r.level}` : ''}`);
  if (r.enforcement && r.level !== 'skip') {
    lines.push(`Actions:   ${Object.entries(r.enforcement).map(([k, v]) => `${CHECK_LABEL[k]}=${v}`).join(', ')}`);
  }
  if (r.signatures.length === 0) lines.push('Signatures: none evaluated');
  r.signatures.forEach((s, i) => {
    lines.push('');
    lines.push(`Signature ${i + 1}: ${s.digest}${s.envelopeMediaType ? ` (${s.envelopeMediaType})` : ''} — ${s.verified ? 'satisfies the policy' : 'does not satisfy the policy'}`);
    if (s.signer) lines.push(`  signer:        ${s.signer.subject}`);
    if (s.signingTime) lines.push(`  signing time:  ${s.signingTime}`);
    if (s.expiry) lines.push(`  expiry:        ${s.expiry}`);
    if (s.userMetadata) lines.push(`  user metadata: ${Object.entries(s.userMetadata).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    if (s.failedCheck === 'retrieval') lines.push(`  retrieval:     FAIL — ${s.reason}`);
    for (const c of s.checks) {
      lines.push(`  ${(CHECK_LABEL[c.name] + ':').padEnd(22)} ${mark(c.status, c.action).padEnd(14)} [${c.action}]${c.reason ? ` ${c.reason}` : ''}`);
    }
    if (s.failedCheck === 'userMetadata') lines.push(`  user metadata: FAIL — ${s.reason}`);
  });
  lines.push('');
  lines.push(r.verified ? `Result: VERIFIED${r.verifiedBy ? ` (by ${r.verifiedBy})` : ''}${r.level === 'skip' ? ' (verification skipped by policy)' : ''}` : `Result: NOT VERIFIED — ${failureMessage(r)}${r.code ? ` [${r.code}]` : ''}`);
  return lines.join('\n');
}

/** notation's CLI warnings for a verified report: each logged check that failed on the signature that verified. */
export function loggedFailureWarnings(r: VerificationReport): string[] {
  const sig = r.signatures.find((s) => s.digest === r.verifiedBy);
  if (!sig) return [];
  return sig.checks.filter((c) => c.status === 'fail' && c.action === 'log').map((c) => `${c.name} was set to "log" and failed with error: ${c.reason}`);
}

/** notation's table of the verified signature's user metadata (printed after "Successfully verified…"). */
export function userMetadataTable(meta: Record<string, string>): string {
  const rows = Object.entries(meta);
  const w = Math.max(3, ...rows.map(([k]) => k.length));
  return ['The artifact was signed with the following user metadata.', '', `${'KEY'.padEnd(w)}  VALUE`, ...rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`)].join('\n') + '\n';
}
