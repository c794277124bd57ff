/**
 * Deterministic, parallel gzip (pigz-style), streamed with bounded memory.
 *
 * The input is cut into fixed-size blocks: by default 256 KiB for inputs up to 8 MiB (a small layer is spread over
 * the cores and compression keeps pace with the save stream; pigz uses 128 KiB) and 1 MiB above (~10% more
 * throughput on big layers: less per-block set-up); the rule depends only on the input size, which the caller
 * knows from the tar header, so the output stays a function of the input. Every block is raw-deflated on its
 * own (node's zlib runs each call on the libuv thread pool, so several blocks compress at once on several cores), primed with the
 * last 32 KiB of the previous block's input as the preset dictionary (as pigz does; back-references into it are
 * valid because the decompressor has that data as earlier output). Every block but the last ends with
 * Z_SYNC_FLUSH (byte-aligned, not final), the last with Z_FINISH, so the concatenation is ONE valid deflate
 * stream. The gzip member around it has a fixed 10-byte header (no name, MTIME 0, XFL by level, OS 255 =
 * "unknown", like Go's compress/gzip that docker uses) and the trailer CRC-32 and ISIZE, computed here
 * sequentially over the input (zlib.crc32, Node >= 20.15).
 *
 * Determinism: each block's output depends only on (its bytes, the previous 32 KiB, level, memLevel, block size) and the
 * outputs are emitted in block order, so the result is the same byte-for-byte regardless of thread timing.
 * It does depend on the zlib build inside node (different node/zlib versions may produce different bytes), which
 * is why compressed layers are cached by diff ID and reused instead of being recompressed.
 *
 * Memory: at most `concurrency` blocks are in flight (input + output), independent of the input size (inputs up to
 * 8 MiB may have all their blocks in flight).
 */
import type * as Zlib from 'node:zlib';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
// node:zlib is taken when this module is first evaluated, not hoisted as a static import: the one-file fast-path
// bundle of `sign` (dist/fast/sign.cjs) holds this module, which remote and layout signing never use.
const zlib = process.getBuiltinModule('node:zlib') as typeof Zlib;

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, opts: Zlib.ZlibOptions) => Promise<Buffer>;

export const DICT_SIZE = 32 * 1024;
/**
 * zlib memLevel (hash table size): 9, zlib's largest, instead of the default 8. At level 1 it deflates ~6-8% faster
 * (busybox: 27.7 vs 30.5 ms; the bench's layer data: 216 vs 231 ms per 24 MiB) for +0.1% bytes. Part of the profile.
 */
const MEM_LEVEL = 9;
export const SMALL_INPUT_BLOCK_SIZE = 256 * 1024;
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;
/** Inputs up to this size have all their blocks in flight: their output comes out at end(), in one go. */
export const SMALL_INPUT_MAX = 8 * 1024 * 1024;

/** The default block size for an input of `size` bytes (see the module comment). */
export function blockSizeFor(size: number | undefined): number {
  return size !== undefined && size <= SMALL_INPUT_MAX ? SMALL_INPUT_BLOCK_SIZE : DEFAULT_BLOCK_SIZE;
}

export interface PgzipOptions {
  /** zlib level 0-9 (default 6). */
  level?: number;
  /** Input block size in bytes (>= 64 KiB; default blockSizeFor(inputSize)). Part of the output's identity. */
  blockSize?: number;
  /** Total input size, when known up front: picks the default block size. */
  inputSize?: number;
  /**
   * Blocks in flight at the same time (default: available parallelism + 1, at least 2; for an input known to be at
   * most 8 MiB, all of its blocks: reading never waits for compression, and memory stays under ~16 MiB).
   */
  concurrency?: number;
}

/** The profile string that identifies the exact output bytes for a given input (cache key component). */
export function pgzipProfile(opts: PgzipOptions = {}): string {
  return `pgzip1-l${opts.level ?? 6}-b${opts.blockSize ?? 'auto1'}-m${MEM_LEVEL}-z${process.versions.zlib}`;
}

function gzipHeader(level: number): Buffer {
  // ID1 ID2 CM=8 FLG=0 MTIME=0 XFL OS=255
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, xfl, 0xff]);
}

/**
 * A gzip compressor: call write() with input chunks (await each; it applies back-pressure), then end().
 * Compressed bytes are handed to `sink` in order, one call at a time.
 */
export class ParallelGzip {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private block: Buffer;
  private fill = 0;
  private prevTail: Buffer | undefined;
  private readonly inflight: Promise<Buffer>[] = [];
  private crc = 0;
  private isize = 0;
  private total = 0;
  private started = false;
  private ended = false;
  /** Bytes of compressed output emitted so far. */
  outBytes = 0;

  constructor(private readonly sink: (chunk: Buffer) => Promise<void> | void, opts: PgzipOptions = {}) {
    this.level = opts.level ?? 6;
    if (!Number.isInteger(this.level) || this.level < 0 || this.level > 9) throw new RangeError(`gzip level must be 0..9, got ${this.level}`);
    this.blockSize = Math.max(64 * 1024, opts.blockSize ?? blockSizeFor(opts.inputSize));
    const small = opts.inputSize !== undefined && opts.inputSize <= SMALL_INPUT_MAX;
    this.concurrency = Math.max(2, opts.concurrency ?? (small ? Math.ceil(opts.inputSize! / this.blockSize) + 1 : availableParallelism() + 1));
    this.block = Buffer.allocUnsafe(this.blockSize);
  }

  private async emit(b: Buffer): Promise<void> {
    if (b.length === 0) return;
    this.outBytes += b.length;
    await this.sink(b);
  }

  private async start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.emit(gzipHeader(this.level));
    }
  }

  private dispatch(input: Buffer, last: boolean): void {
    const opts: Zlib.ZlibOptions = {
      level: this.level,
      memLevel: MEM_LEVEL,
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      // One output buffer for the whole block: with the default 16 KiB, zlib hands every 16 KiB of output back to
      // the main thread before it goes on (1 MiB blocks at level 1: ~20 ms per two blocks instead of ~14). The
      // bytes are the same: deflate's output does not depend on how the output buffer is cut.
      chunkSize: Math.max(64 * 1024, input.length + (input.length >> 4) + 1024),
    };
    if (this.prevTail) opts.dictionary = this.prevTail;
    const p = deflateRaw(input, opts);
    p.catch(() => undefined); // surfaced when awaited in order
    this.inflight.push(p);
    // Only the last block can be shorter than the dictionary; every other block is blockSize >= 64 KiB.
    this.prevTail = Buffer.from(input.subarray(Math.max(0, input.length - DICT_SIZE)));
  }

  private async drain(max: number): Promise<void> {
    while (this.inflight.length > max) {
      const out = await this.inflight.shift()!;
      await this.emit(out);
    }
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.ended) throw new Error('write after end');
    await this.start();
    this.crc = zlib.crc32(chunk, this.crc);
    this.isize = (this.isize + chunk.length) >>> 0;
    this.total += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, this.blockSize - this.fill);
      chunk.copy(this.block, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.blockSize) {
        this.dispatch(this.block, false);
        this.block = Buffer.allocUnsafe(this.blockSize);
        this.fill = 0;
        await this.drain(this.concurrency - 1);
      }
    }
  }

  /** Flushes the last block and writes the trailer. Returns CRC-32 and the uncompressed size. */
  async end(): Promise<{ crc32: number; size: number }> {
    if (this.ended) throw new Error('end called twice');
    await this.start();
    this.ended = true;
    this.dispatch(this.block.subarray(0, this.fill), true);
    await this.drain(0);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.isize, 4);
    await this.emit(trailer);
    return { crc32: this.crc >>> 0, size: this.total };
  }

  /** Waits for in-flight work after a failure so no callbacks run later. */
  async abort(): Promise<void> {
    this.ended = true;
    await Promise.allSettled(this.inflight.splice(0));
  }
}

/** Convenience: compresses a whole buffer (tests, small layers). */
export async function pgzipBuffer(data: Buffer, opts: PgzipOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  const gz = new ParallelGzip((c) => { parts.push(c); }, { inputSize: data.length, ...opts });
  for (let off = 0; off < data.length; off += 256 * 1024) await gz.write(data.subarray(off, off + 256 * 1024));
  await gz.end();
  return Buffer.concat(parts);
}
