import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { adoptExtraCaCerts, resetExtraCaCerts, systemRoots, tlsContextOptions, defaultCaList, RELOCATED_EXTRA_CA_VAR } from '../../src/registry/tls-roots.js';

describe('registry: TLS roots and the NODE_EXTRA_CA_CERTS hand-over', () => {
  let dir: string;
  let server: Server;
  let port: number;
  let caFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-tls-roots-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tls-roots test CA');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem');
    caFile = join(dir, 'ca.pem');
    server = createServer({ cert: readFileSync(join(dir, 'server.pem')), key: readFileSync(join(dir, 'server.key')) }, (_q, s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => resetExtraCaCerts());

  const get = (opts: object) => new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', servername: 'localhost', port, path: '/', agent: false, ...opts }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; }).on('end', () => resolve(b));
    }).on('error', reject).end();
  });

  it('adopt: puts the variable back for child processes and removes the hand-over name', () => {
    const env: NodeJS.ProcessEnv = { [RELOCATED_EXTRA_CA_VAR]: caFile };
    adoptExtraCaCerts(env);
    expect(env).to.deep.equal({ NODE_EXTRA_CA_CERTS: caFile });
    expect(defaultCaList()).to.deep.equal([...rootCertificates, readFileSync(caFile, 'utf8')]);
  });

  it('adopt: nothing handed over, or node already has its own NODE_EXTRA_CA_CERTS: node\'s default context stays', () => {
    const none: NodeJS.ProcessEnv = {};
    adoptExtraCaCerts(none);
    expect(none).to.deep.equal({});
    expect(tlsContextOptions('default')).to.deep.equal({});
    const both: NodeJS.ProcessEnv = { [RELOCATED_EXTRA_CA_VAR]: caFile, NODE_EXTRA_CA_CERTS: '/other.pem' };
    adoptExtraCaCerts(both);
    expect(both).to.deep.equal({ NODE_EXTRA_CA_CERTS: '/other.pem' });
    expect(tlsContextOptions('default')).to.deep.equal({});
    expect(defaultCaList()).to.equal(undefined);
  });

  it('a connection trusts the handed-over CA file (and is refused without it)', async () => {
    const refused = await get(tlsContextOptions('default')).catch((e: Error & { code?: string }) => e.code);
    expect(refused).to.equal('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    adoptExtraCaCerts({ [RELOCATED_EXTRA_CA_VAR]: caFile });
    const opts = tlsContextOptions('default');
    expect(opts.secureContext).to.not.equal(undefined);
    expect(tlsContextOptions('default').secureContext).to.equal(opts.secureContext); // made once
    expect(await get(opts)).to.equal('ok');
  });

  it('an explicit CA list (certs.d) starts from the roots plus the extra file; without extras, from the roots', () => {
    expect(systemRoots({})).to.deep.equal([...rootCertificates]);
    expect(systemRoots({ NODE_EXTRA_CA_CERTS: caFile })).to.deep.equal([...rootCertificates, readFileSync(caFile, 'utf8')]);
  });

  it('an unreadable file: one warning, then the roots alone', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      adoptExtraCaCerts({ [RELOCATED_EXTRA_CA_VAR]: join(dir, 'missing.pem') });
      expect(systemRoots()).to.deep.equal([...rootCertificates]);
      systemRoots();
      await new Promise((r) => setImmediate(r));
      expect(warnings).to.deep.equal([`Ignoring extra certs from \`${join(dir, 'missing.pem')}\`, load failed: ENOENT`]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
