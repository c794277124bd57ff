import { Flags } from '@oclif/core';
import { BaseCommand } from '../base.js';
import { InputError } from '../../errors.js';
import { counted, humanSize } from '../../cli/io.js';

export default class StorePruneCommand extends BaseCommand {
  static override summary = 'Remove what the local store no longer needs';
  static override description = [
    'The local store (<config>/store) keeps the manifest, config and compressed layers of every image generated, signed or',
    'pushed here, and the signatures made with `docker sign IMAGE`. This removes the manifests and layers of images the',
    'Docker engine no longer holds, blobs nothing lists (earlier builds, interrupted runs; only once they are 10 minutes',
    'old), and their layer-cache entries. Signatures stay (they cannot be made again without the key; should the same',
    'image come back, by docker load say, they apply to it again). With --all it also removes those signatures, and what',
    'images still in the engine can make again (the next push or sign regenerates it), except for images with a signature',
    'kept here: those stay with their manifest and blobs so `docker sign push` can still push them.',
    'Needs the engine (-H/--context as for docker). Asks for confirmation on a terminal; otherwise pass --force.',
  ].join(' ');
  static override examples = [
    'docker sign store prune',
    'docker sign store prune --dry-run',
    'docker sign store prune --all --force -o json',
  ];
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'also remove signatures of images no longer in the engine, and what images still in it can regenerate (signed ones stay)', default: false }),
    'dry-run': Flags.boolean({ description: 'show what would be removed, remove nothing', default: false }),
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parseCommon(StorePruneCommand);
    const dryRun = flags['dry-run'] as boolean;
    const all = flags.all as boolean;
    if (!dryRun && !flags.force) await confirm(this.paths.store, all);
    const { pruneStore } = await import('../../docker/prune.js');
    const r = await pruneStore(this.paths, { all, dryRun });
    this.emit(r, () => {
      const verb = dryRun ? 'Would remove' : 'Removed';
      const lines: string[] = [];
      const images = r.removed.images.filter((i) => i.reason !== 'unreadable');
      const damaged = r.removed.images.filter((i) => i.reason === 'unreadable');
      if (images.length > 0) {
        lines.push(`${verb} image manifests:`);
        for (const i of images) lines.push(`  ${i.name ?? '<untagged>'}  ${i.digest}  (${i.reason === 'gone' ? 'image no longer in the engine' : 'regenerable'})`);
      }
      if (damaged.length > 0) {
        lines.push(`${verb} damaged entries (a manifest or signature whose bytes are gone or altered):`);
        for (const i of damaged) lines.push(`  ${i.name ?? '<untagged>'}  ${i.digest}`);
      }
      if (r.removed.signatures.length > 0) {
        lines.push(`${verb} signatures of images no longer in the engine:`);
        for (const s of r.removed.signatures) lines.push(`  ${s.digest}${s.subject ? `  (for ${s.subject})` : ''}`);
      }
      if (r.kept.orphanSignatures > 0) {
        lines.push(`Kept ${counted(r.kept.orphanSignatures, 'signature')} of images no longer in the engine (--all removes them)`);
      }
      lines.push(`${verb} ${counted(r.removed.blobs, 'blob')}, ${counted(r.removed.tempFiles, 'temp file')}, ${counted(r.removed.layerCacheEntries, 'layer-cache entry', 'layer-cache entries')}`);
      if (r.kept.recentBlobs > 0) {
        lines.push(`Kept ${counted(r.kept.recentBlobs, 'unreferenced blob')} (${humanSize(r.kept.recentBytes)}) written in the last 10 minutes: a run may still be using them`);
      }
      lines.push(`Kept ${counted(r.kept.images, 'image manifest')}, ${counted(r.kept.signatures, 'signature')}${r.kept.other ? `, ${counted(r.kept.other, 'other entry', 'other entries')}` : ''}`);
      lines.push(`${dryRun ? 'Reclaimable' : 'Total reclaimed'} space: ${humanSize(r.removed.bytes)}`);
      return lines.join('\n');
    });
  }
}

/** Asks on the terminal, like `docker image prune`; without one the caller must have said --force. */
async function confirm(store: string, all: boolean): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new InputError('CONFIRMATION_REQUIRED', 'not asking for confirmation without a terminal', {
      hint: 'pass --force (-f) to prune, or --dry-run to see what would be removed',
    });
  }
  const what = all
    ? '  - everything in it that images still in the engine can regenerate, unless they have a signature kept here\n'
    : '';
  process.stderr.write(`WARNING! This will remove from the local store ${store}:\n`
    + `  - the manifests and layers of images no longer in the Docker engine${all ? ', and their signatures' : ''}\n`
    + what
    + '  - blobs nothing lists any more\n'
    + 'Are you sure you want to continue? [y/N] ');
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin });
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (!/^y(es)?$/i.test(line.trim())) {
    throw new InputError('CANCELLED', 'prune cancelled: nothing was removed');
  }
}
