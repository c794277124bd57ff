/**
 * Per-layer progress bars on stderr (cli-progress), only when stderr is a TTY and not quiet. cli-progress is
 * imported lazily (only when bars are shown).
 */
import type { SaveProgress } from './save.js';

export interface LayerBars extends SaveProgress {
  /** Bar for an upload (push): total bytes, then update(done). */
  start(id: string, total: number, label: string): void;
  update(id: string, done: number): void;
  done(id: string, label?: string): void;
  stop(): void;
}

const noop: LayerBars = {
  start() {}, update() {}, done() {}, stop() {},
  layerStart() {}, layerProgress() {}, layerDone() {},
};

function short(id: string): string {
  const m = /([a-f0-9]{12})[a-f0-9]*/.exec(id);
  return m ? m[1] : id.slice(0, 12);
}

export async function createLayerBars(opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Promise<LayerBars> {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY) return noop;
  const mod = await import('cli-progress');
  const cp = (mod.default ?? mod) as typeof import('cli-progress');
  const multi = new cp.MultiBar({
    stream,
    clearOnComplete: false,
    hideCursor: true,
    format: '{id} {label} [{bar}] {percentage}% | {value_h}/{total_h}',
    barsize: 30,
    autopadding: true,
    formatValue: (v: number, _o: unknown, type: string) => (type === 'value' || type === 'total' ? String(v) : String(v)),
  }, cp.Presets.shades_classic);
  const bars = new Map<string, import('cli-progress').SingleBar>();
  const human = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)}GB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)}MB` : n >= 1024 ? `${(n / 1024).toFixed(1)}kB` : `${n}B`);
  const self: LayerBars = {
    start(id, total, label) {
      const b = multi.create(Math.max(total, 1), 0, { id: short(id), label: label.padEnd(11), value_h: human(0), total_h: human(total) });
      bars.set(id, b);
    },
    update(id, done) {
      const b = bars.get(id);
      b?.update(done, { value_h: human(done) });
    },
    done(id, label) {
      const b = bars.get(id);
      if (b) {
        b.update(b.getTotal(), { label: (label ?? 'Done').padEnd(11), value_h: human(b.getTotal()) });
        b.stop();
      }
    },
    stop() {
      multi.stop();
    },
    layerStart(id, size) { self.start(id, size, 'Compressing'); },
    layerProgress(id, done) { self.update(id, done); },
    layerDone(id) { self.done(id, 'Compressed'); },
  };
  return self;
}
