import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DockerSignError, InputError, EXIT } from '../errors.js';

/** OCI digest grammar: algorithm ":" encoded. We produce and accept sha256 and sha512 (registered algorithms). */
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export type Digest = `sha256:${string}` | `sha512:${string}`;

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

export function parseDigest(s: string): { algorithm: 'sha256' | 'sha512'; hex: string } {
  if (!isDigest(s)) {
    throw new InputError('INVALID_DIGEST', `invalid digest "${s}"`, {
      hint: 'a digest looks like sha256:<64 lowercase hex characters>',
    });
  }
  const i = s.indexOf(':');
  return { algorithm: s.slice(0, i) as 'sha256' | 'sha512', hex: s.slice(i + 1) };
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function digestOf(data: Uint8Array | string, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

export class DigestMismatchError extends DockerSignError {
  constructor(expected: string, actual: string, what = 'content', hint = 'the content was modified or corrupted; do not trust it') {
    super('DIGEST_MISMATCH', `${what} digest mismatch: expected ${expected}, got ${actual}`, {
      exitCode: EXIT.VERIFICATION_FAILED,
      hint,
      details: { expected, actual },
    });
  }
}

export class SizeMismatchError extends DockerSignError {
  constructor(expected: number, actual: number, what = 'content', hint?: string) {
    super('SIZE_MISMATCH', `${what} size mismatch: expected ${expected} bytes, got ${actual}`, {
      exitCode: EXIT.VERIFICATION_FAILED,
      ...(hint ? { hint } : {}),
      details: { expected, actual },
    });
  }
}

/** Throws unless `data` hashes to `expected` (and has `size` bytes when given). */
export function verifyBytes(data: Uint8Array, expected: string, size?: number, what?: string, hint?: string): void {
  const { algorithm } = parseDigest(expected);
  if (size !== undefined && data.byteLength !== size) throw new SizeMismatchError(size, data.byteLength, what, hint);
  const actual = digestOf(data, algorithm);
  if (actual !== expected) throw new DigestMismatchError(expected, actual, what, hint);
}

/**
 * A pass-through stream that hashes what flows through it and fails the stream at the end when the
 * digest or size differs from what was expected, or as soon as more than `size` bytes arrive.
 */
export class DigestVerifyingStream extends Transform {
  private readonly hash;
  private seen = 0;
  constructor(private readonly expected: string, private readonly size?: number, private readonly what = 'blob', private readonly hint?: string) {
    super();
    this.hash = createHash(parseDigest(expected).algorithm);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.size !== undefined && this.seen > this.size) {
      cb(new SizeMismatchError(this.size, this.seen, this.what, this.hint));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.size !== undefined && this.seen !== this.size) {
      cb(new SizeMismatchError(this.size, this.seen, this.what, this.hint));
      return;
    }
    const actual = `${parseDigest(this.expected).algorithm}:${this.hash.digest('hex')}`;
    cb(actual === this.expected ? null : new DigestMismatchError(this.expected, actual, this.what, this.hint));
  }
}
