import { expect } from 'chai';
import { gunzipSync, crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParallelGzip, pgzipBuffer, pgzipProfile, blockSizeFor } from '../../src/docker/pgzip.js';
import { semiRandom, sha } from './savefixtures.js';

describe('docker/pgzip ParallelGzip', () => {
  const data = Buffer.concat([semiRandom(3 * 1024 * 1024 + 12345, 7), randomBytes(700 * 1024), semiRandom(1500 * 1024, 9)]);

  it('produces one valid gzip stream that decompresses to the input (multi-block)', async () => {
    const gz = await pgzipBuffer(data, { level: 6, blockSize: 256 * 1024 });
    expect(gunzipSync(gz).equals(data)).to.equal(true);
    // fixed header: no name, mtime 0, OS 255
    expect([...gz.subarray(0, 10)]).to.deep.equal([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    expect(gz.readUInt32LE(gz.length - 8)).to.equal(crc32(data));
    expect(gz.readUInt32LE(gz.length - 4)).to.equal(data.length);
    // the system gzip agrees it is valid
    const dir = mkdtempSync(join(tmpdir(), 'ds-pgz-'));
    try {
      writeFileSync(join(dir, 'x.gz'), gz);
      execFileSync('gzip', ['-t', join(dir, 'x.gz')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is deterministic regardless of concurrency / thread timing and input chunking', async () => {
    const a = await pgzipBuffer(data, { level: 6, blockSize: 256 * 1024, concurrency: 2 });
    const b = await pgzipBuffer(data, { level: 6, blockSize: 256 * 1024, concurrency: 9 });
    const parts: Buffer[] = [];
    const gz = new ParallelGzip((c) => { parts.push(c); }, { level: 6, blockSize: 256 * 1024, concurrency: 4 });
    for (let off = 0; off < data.length;) { const n = 1 + ((off * 7919) % 300000); await gz.write(data.subarray(off, off + n)); off += n; }
    await gz.end();
    expect(sha(a)).to.equal(sha(b));
    expect(sha(Buffer.concat(parts))).to.equal(sha(a));
    // another level or block size is another (valid) stream
    const c = await pgzipBuffer(data, { level: 1, blockSize: 256 * 1024 });
    expect(sha(c)).to.not.equal(sha(a));
    expect(gunzipSync(c).equals(data)).to.equal(true);
    expect(pgzipProfile({ level: 1 })).to.not.equal(pgzipProfile({ level: 6 }));
  });

  it('compresses empty input and tiny input', async () => {
    expect(gunzipSync(await pgzipBuffer(Buffer.alloc(0))).length).to.equal(0);
    expect(gunzipSync(await pgzipBuffer(Buffer.from('x'))).toString()).to.equal('x');
  });

  it('uses the dictionary: splitting costs little compared with one stream', async () => {
    const text = semiRandom(4 * 1024 * 1024, 3);
    const split = await pgzipBuffer(text, { level: 6, blockSize: 128 * 1024 });
    const one = await pgzipBuffer(text, { level: 6, blockSize: 8 * 1024 * 1024 });
    expect(split.length).to.be.lessThan(one.length * 1.01);
  });

  it('rejects a bad level', () => {
    expect(() => new ParallelGzip(() => undefined, { level: 11 })).to.throw(RangeError);
  });

  it('default block size follows the input size only: 256 KiB up to 8 MiB, 1 MiB above; streamed = buffered', async () => {
    expect(blockSizeFor(1)).to.equal(256 * 1024);
    expect(blockSizeFor(8 * 1024 * 1024)).to.equal(256 * 1024);
    expect(blockSizeFor(8 * 1024 * 1024 + 1)).to.equal(1024 * 1024);
    expect(blockSizeFor(undefined)).to.equal(1024 * 1024);
    // the default for this 5.2 MB input is 256 KiB blocks, whichever way the bytes arrive
    const buffered = await pgzipBuffer(data, { level: 1 });
    expect(buffered.equals(await pgzipBuffer(data, { level: 1, blockSize: 256 * 1024 }))).to.equal(true);
    const parts: Buffer[] = [];
    const gz = new ParallelGzip((c) => { parts.push(c); }, { level: 1, inputSize: data.length });
    for (let off = 0; off < data.length; off += 100_000) await gz.write(data.subarray(off, off + 100_000));
    await gz.end();
    expect(Buffer.concat(parts).equals(buffered)).to.equal(true);
    expect(pgzipProfile({ level: 1 })).to.match(/^pgzip1-l1-bauto1-m9-z/);
  });
});
