import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit } from '../../src/registry/concurrency.js';

describe('registry/concurrency: mapLimit', () => {
  it('keeps order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6, 7], 3, async (x, i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(x * 3);
      inFlight--;
      return x * 10 + i;
    });
    expect(out).to.deep.equal([50, 11, 42, 23, 34, 5, 66, 77]);
    expect(peak).to.equal(3);
  });
  it('rejects on the first failure and starts no new work', async () => {
    const started: number[] = [];
    let err: unknown;
    try {
      await mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
        started.push(x);
        await sleep(5);
        if (x === 1) throw new Error('boom');
        return x;
      });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.equal('boom');
    expect(started.length).to.be.lessThan(6);
  });
  it('handles empty input and limits below 1', async () => {
    expect(await mapLimit([], 4, async (x) => x)).to.deep.equal([]);
    expect(await mapLimit([1, 2], 0, async (x) => x + 1)).to.deep.equal([2, 3]);
  });
});
