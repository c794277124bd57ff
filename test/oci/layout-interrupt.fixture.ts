// Child process for layout.test.ts: opens two blob writers, writes into them, says "ready" and waits to be signalled.
import { OciLayout } from '../../src/oci/layout.js';

const [dir] = process.argv.slice(2);
const l = await OciLayout.open(dir, { create: true });
const a = await l.openBlobWriter();
const b = await l.openBlobWriter();
await a.write(Buffer.alloc(1 << 20, 1));
await b.write(Buffer.alloc(1 << 16, 2));
const done = await l.openBlobWriter(); // committed: the blob stays
await done.write(Buffer.from('kept'));
await done.commit('application/octet-stream');
process.send!('ready');
setInterval(() => undefined, 1000);
