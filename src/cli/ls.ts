/**
 * `docker sign ls IMAGE`: flags and behaviour, without oclif. src/commands/ls.ts (oclif: help, usage errors)
 * and the fast path (src/cli/fast.ts) both run this.
 */
import type { CommandIO } from './io.js';
import type { ParsedCommand } from './spec.js';
import { signaturesSpec, openSubject } from './signatures.js';

export const spec = signaturesSpec;

export async function run(parsed: ParsedCommand<typeof spec.flags>, io: CommandIO): Promise<void> {
  const { listSignatures } = await import('../signature/list.js');
  const { t, subject, summary } = await openSubject(parsed, io);
  const sigs = await listSignatures(t.target, subject);
  io.emit({ ...summary, signatures: sigs }, () => {
    const lines = [`${t.target.location}@${subject.digest}`];
    if (sigs.length === 0) {
      lines.push('└── (no signatures)');
      return lines.join('\n');
    }
    lines.push('└── application/vnd.cncf.notary.signature');
    sigs.forEach((s, i) => {
      const last = i === sigs.length - 1;
      const extra = [s.envelopeMediaType, s.created].filter(Boolean).join(', ');
      lines.push(`    ${last ? '└──' : '├──'} ${s.digest}${extra ? ` (${extra})` : ''}${s.problem ? ` [problem: ${s.problem}]` : ''}`);
    });
    return lines.join('\n');
  });
}
