import { createWriteStream, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { mkdirsSync } from '../../src/config/mkdir.js';

/**
 * Audit log: one JSON object per line for every gated decision (pull, create, start, build, load, import,
 * commit, push) and every deny: {time, method, uri, kind, image, digest, allow, reason, policy, durationMs, cached}.
 * Lines are batched and written once per event-loop turn through a WriteStream (never blocks the request path,
 * one write per burst instead of one per decision); `close()` flushes.
 */
export interface AuditRecord {
  time: string;
  method: string;
  uri: string;
  kind: string;
  image?: string;
  digest?: string;
  allow: boolean;
  reason: string;
  policy?: string;
  durationMs: number;
  cached?: boolean;
  user?: string;
}

export class AuditLog {
  private stream: WriteStream | undefined;
  private failed = false;
  private pending: string[] = [];
  private scheduled = false;

  constructor(readonly path: string | undefined, private readonly onError: (e: Error) => void = () => undefined) {
    if (!path) return;
    mkdirsSync(dirname(path), 0o700);
    this.stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.stream.on('error', (e) => {
      if (!this.failed) this.onError(e);
      this.failed = true;
    });
  }

  write(rec: AuditRecord): void {
    if (!this.stream || this.failed) return;
    this.pending.push(JSON.stringify(rec) + '\n');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (!this.stream || this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.stream.write(chunk);
  }

  async close(): Promise<void> {
    this.flush();
    const s = this.stream;
    this.stream = undefined;
    if (!s) return;
    await new Promise<void>((res) => s.end(() => res()));
  }
}
