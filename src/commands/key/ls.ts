import { BaseCommand } from '../base.js';

export default class KeyLsCommand extends BaseCommand {
  static override summary = 'List signing keys';
  static override examples = ['docker sign key ls', 'docker sign key ls -o json'];

  async run(): Promise<void> {
    await this.parseCommon(KeyLsCommand);
    const { listKeys } = await import('../../pki/describe.js');
    const keys = listKeys(this.paths);
    this.emit({ keys }, () => {
      if (keys.length === 0) return "No signing keys. Create one with 'docker sign key generate NAME'.";
      const rows = keys.map((k) => [k.default ? '* ' + k.name : '  ' + k.name, k.keySpec ?? '-', k.subject ?? '-', k.notAfter ?? '-', k.problem ?? '']);
      const head = ['  NAME', 'KEY', 'SUBJECT', 'NOT AFTER', 'PROBLEM'];
      const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
    });
  }
}
