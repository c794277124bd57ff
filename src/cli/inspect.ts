/**
 * `docker sign inspect IMAGE`: flags and behaviour, without oclif. src/commands/inspect.ts (oclif: help, usage errors)
 * and the fast path (src/cli/fast.ts) both run this.
 */
import type { CommandIO } from './io.js';
import type { ParsedCommand } from './spec.js';
import { signaturesSpec, openSubject } from './signatures.js';

export const spec = signaturesSpec;

export async function run(parsed: ParsedCommand<typeof spec.flags>, io: CommandIO): Promise<void> {
  const { inspectSignatures } = await import('../signature/list.js');
  const { t, subject, summary } = await openSubject(parsed, io);
  const sigs = await inspectSignatures(t.target, subject);
  io.emit({ ...summary, signatures: sigs }, () => {
    const out = [`${t.target.location}@${subject.digest}`];
    if (sigs.length === 0) out.push('└── (no signatures)');
    sigs.forEach((s, i) => {
      const last = i === sigs.length - 1;
      const p = last ? '    ' : '│   ';
      out.push(`${last ? '└──' : '├──'} ${s.digest}`);
      const rows: string[] = [];
      if (s.problem || !s.envelope) rows.push(`problem: ${s.problem ?? 'envelope unavailable'}`);
      const e = s.envelope;
      if (e) {
        rows.push(`envelope: ${e.mediaType === 'application/cose' ? 'COSE' : 'JWS'} (${e.mediaType}), ${e.signatureAlgorithm}, ${e.digest}`);
        rows.push(`signing scheme: ${e.signingScheme}`);
        if (e.signingTime) rows.push(`signing time: ${e.signingTime}`);
        if (e.authenticSigningTime) rows.push(`authentic signing time: ${e.authenticSigningTime}`);
        rows.push(`expiry: ${e.expiry ? `${e.expiry}${e.expired ? ' (expired)' : ''}` : 'none'}`);
        rows.push(`signing agent: ${e.signingAgent ?? '-'}`);
        rows.push(`timestamp: ${e.timestamped ? 'present' : 'none'}`);
        rows.push(`integrity: ${e.integrity}${e.matchesSubject ? '' : ' — WARNING: signed target ' + e.targetArtifact.digest + ' is not this image'}`);
        const md = Object.entries(e.userMetadata);
        rows.push(`user metadata: ${md.length === 0 ? 'none' : md.map(([k, v]) => `${k}=${v}`).join(', ')}`);
        rows.push('certificates:');
        e.certificateChain.forEach((c, j) => {
          rows.push(`  [${j}] ${c.subject}`);
          rows.push(`      issuer: ${c.issuer}`);
          rows.push(`      SHA-256: ${c.sha256Fingerprint}`);
          rows.push(`      valid: ${c.notBefore} .. ${c.notAfter}`);
        });
      }
      for (const r of rows) out.push(`${p}${r}`);
    });
    return out.join('\n');
  });
}
