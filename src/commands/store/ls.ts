import { BaseCommand } from '../base.js';
import { counted, humanSize } from '../../cli/io.js';

export default class StoreLsCommand extends BaseCommand {
  static override summary = 'List what the local store holds';
  static override description = [
    'Lists the image manifests in the local store (<config>/store) with their state in the Docker engine (current: the',
    'engine has the image under this name; stale: only by ID, the name moved to a rebuild; gone: the engine no longer has',
    'it), the signatures kept for them (made with `docker sign IMAGE`, pushed with `docker sign push`) and their size, and',
    'the space `docker sign store prune` would free. Without an engine the list is shown without states.',
  ].join(' ');
  static override examples = ['docker sign store ls', 'docker sign store ls -o json'];

  async run(): Promise<void> {
    await this.parseCommon(StoreLsCommand);
    const { listStore } = await import('../../docker/prune.js');
    const r = await listStore(this.paths);
    this.emit(r, () => {
      const short = (d: string) => d.slice(0, 'sha256:'.length + 12);
      const lines: string[] = [];
      if (r.images.length === 0) {
        lines.push(`No image manifests in ${r.store}.`);
      } else {
        const rows = r.images.map((i) => [i.name ?? '<untagged>', short(i.digest), i.state ?? '?', String(i.signatures.length), humanSize(i.size)]);
        const head = ['NAME', 'DIGEST', 'STATE', 'SIGNATURES', 'SIZE'];
        const w = head.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k]!.length)));
        lines.push(...[head, ...rows].map((row) => row.map((c, k) => c.padEnd(w[k]!)).join('  ').trimEnd()));
      }
      for (const s of r.otherSignatures) {
        const state = s.live === undefined ? '' : s.live ? ' (image still in the engine)' : ' (image no longer in the engine)';
        lines.push(`signature ${short(s.digest)} for ${short(s.subject)}, whose manifest is no entry of the store${state}`);
      }
      for (const o of r.other) lines.push(`${o.unreadable ? 'damaged entry' : 'other entry'} ${o.name ?? short(o.digest)} (${o.mediaType})`);
      lines.push(`${counted(r.blobs.count, 'blob')}, ${humanSize(r.blobs.bytes)} in ${r.store}`);
      if (r.reclaimable) {
        lines.push(`Reclaimable: ${humanSize(r.reclaimable.prune)} (docker sign store prune), ${humanSize(r.reclaimable.all)} with --all`);
      } else {
        lines.push(`The engine could not be asked (${r.engineError ?? 'unknown error'}): states and reclaimable space unknown`);
      }
      return lines.join('\n');
    });
  }
}
