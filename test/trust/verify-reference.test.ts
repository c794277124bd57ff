import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyReference } from '../../src/trust/index.js';
import { validateTrustPolicy } from '../../src/trust/policy.js';
import { MemoryTrustStore } from '../../src/trust/truststore.js';
import { configPaths } from '../../src/config/dir.js';
import { closeConnections } from '../../src/registry/index.js';

/**
 * verifyReference with a reference pinned by digest: the signatures are listed while the manifest is fetched (one
 * round trip less on a real network), except when the policy skips verification. The registry here answers the
 * manifest only once it has been asked for the signatures, so the old order (manifest, then signatures) would hang.
 */
describe('trust: verifyReference lists the signatures of a digest-pinned reference while fetching its manifest', () => {
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${createHash('sha256').update('{}').digest('hex')}`, size: 2 }, layers: [],
  }));
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  let server: Server;
  let host: string;
  const log: string[] = [];
  let waiting: (() => void)[] = [];
  let askedForSignatures = false;

  before(async () => {
    server = createServer((req, res) => {
      const url = req.url!.split('?')[0]!;
      log.push(`${req.method} ${url}`);
      if (url === `/v2/app/manifests/${digest}`) {
        const answer = () => {
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(manifest.length), 'docker-content-digest': digest });
          res.end(req.method === 'HEAD' ? undefined : manifest);
        };
        if (askedForSignatures) answer();
        else waiting.push(answer);
        return;
      }
      if (url.startsWith('/v2/app/referrers/') || url.startsWith('/v2/app/manifests/sha256-')) {
        askedForSignatures = true;
        for (const w of waiting.splice(0)) w();
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    log.length = 0;
    waiting = [];
    askedForSignatures = false;
  });
  after(async () => {
    await closeConnections();
    server.close();
  });

  const policy = (level: string) => validateTrustPolicy({
    version: '1.0',
    trustPolicies: [{ name: 'p', registryScopes: ['*'], signatureVerification: { level }, ...(level === 'skip' ? {} : { trustStores: ['ca:none'], trustedIdentities: ['*'] }) }],
  });
  const run = (level: string) => verifyReference(`${host}/app@${digest}`, { configPaths: configPaths('/nonexistent-ds-config'), policy: policy(level), trustStore: new MemoryTrustStore({}), cache: null });

  it('strict: the listing goes out before the manifest has answered; no signature → NO_SIGNATURE', async () => {
    const report = await run('strict');
    expect(report.verified).to.equal(false);
    expect(report.code).to.equal('NO_SIGNATURE');
    expect(report.digest).to.equal(digest);
    expect(log.some((l) => l.includes('/referrers/') || l.includes('/manifests/sha256-'))).to.equal(true);
  });

  it('skip: no signature request at all (the manifest is answered without it)', async () => {
    askedForSignatures = true; // nothing will ask: let the manifest answer at once
    const report = await run('skip');
    expect(report.verified).to.equal(true);
    expect(log.filter((l) => l.includes('/referrers/') || l.includes('/manifests/sha256-'))).to.deep.equal([]);
  });
});
