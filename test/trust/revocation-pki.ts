/**
 * A small real PKI for revocation tests, built with the `openssl` CLI in a temp dir: a CA (EC P-256), leaf
 * certificates whose AIA OCSP / CRL distribution point extensions point at local servers, real `openssl ocsp`
 * responders (delegated responder, the CA itself, a look-alike CA with the CA's name and another key, a rogue
 * self-signed signer, a CA-issued signer without the OCSPSigning EKU), CRLs made with `openssl ca -gencrl` (current,
 * stale, signed by a look-alike CA, one announcing delta CRLs) served by a node:http server, a port where nothing
 * listens and a server that accepts connections and never answers. Also: an intermediate CA with leaves answered by
 * the intermediate itself (with and without its certificate in the response) and by a delegated responder, a copy of
 * the CA (same name and key) whose subject key identifier differs from the leaves' authority key identifier, and
 * `ocspResponse()`, which builds OCSP responses by hand for the cases openssl cannot make.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certInfo } from '../../src/trust/x509.js';
import { oidDer, tlv } from '../../src/trust/pkix.js';

export type LeafName =
  | 'good'
  | 'revoked'
  | 'compromised'
  | 'caSigned'
  | 'impostor'
  | 'rogue'
  | 'noEku'
  | 'fbGood'
  | 'fbRevoked'
  | 'down'
  | 'hang'
  | 'crlOnly'
  | 'none'
  | 'freshest'
  | 'intCaSigned'
  | 'intNoCerts'
  | 'intDelegated';

/** Leaves issued by the intermediate CA (their chain is [leaf, intermediate, CA]). */
const INT_LEAVES: LeafName[] = ['intCaSigned', 'intNoCerts', 'intDelegated'];

export interface Leaf {
  cert: X509Certificate;
  key: KeyObject;
  /** [leaf, CA], or [leaf, intermediate, CA] */
  chain: X509Certificate[];
}

/** When the compromised leaf's key became invalid (its revocation entry's invalidityDate). */
export const COMPROMISED_AT = new Date(Date.now() - 3_600_000);

function gt(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Resolves once `openssl ocsp` says it waits for connections. (Probing the port instead does not work: OpenSSL 3.0's
 * responder serves one connection at a time and a connection closed without a request wedges it.)
 */
function whenListening(p: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start in ${ms} ms: ${err}`)), ms);
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('waiting for OCSP client connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`openssl ocsp exited (${code}): ${err}`));
    });
  });
}

export class RevocationPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'ds-revocation-'));
  /** `host`: the name the certificates' OCSP and CRL pointers use (the servers listen on 127.0.0.1). */
  constructor(readonly host = '127.0.0.1') {}
  ca!: X509Certificate;
  /** The intermediate CA (issued by `ca`). */
  int!: X509Certificate;
  /** `ca` re-issued with the same name and key but another subject key identifier (self-signed). */
  caAltSki!: X509Certificate;
  readonly leaves = new Map<LeafName, Leaf>();
  /** CRLs as `openssl ca -gencrl` wrote them, DER unless named pem; `fresh` carries a freshestCRL extension, `v1` is a version 1 CRL. */
  crl!: { der: Buffer; pem: Buffer; stale: Buffer; rogue: Buffer; fresh: Buffer; v1: Buffer };
  /** What /switch.crl serves (the crlOnly leaf's distribution point); empty → 404. */
  switchCrl!: Buffer;
  /** Requests the CRL server saw, by path. */
  readonly crlRequests: string[] = [];
  readonly ports = { crl: 0, delegated: 0, caSigned: 0, impostor: 0, rogue: 0, noEku: 0, dead: 0, hang: 0, intCaSigned: 0, intNoCerts: 0, intDelegated: 0 };
  private readonly procs: ChildProcess[] = [];
  private crlServer?: Server;
  private hangServer?: NetServer;
  private readonly hangSockets: Socket[] = [];

  private ssl(args: string[]): string {
    return execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  }

  async start(): Promise<void> {
    this.crlServer = createHttpServer((req, res) => {
      this.crlRequests.push(req.url ?? '');
      const body = req.url === '/ca.crl' ? this.crl.der : req.url === '/switch.crl' ? this.switchCrl : undefined;
      if (!body || body.length === 0) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => this.crlServer!.listen(0, '127.0.0.1', r));
    this.ports.crl = (this.crlServer.address() as { port: number }).port;
    this.hangServer = createNetServer((s) => this.hangSockets.push(s));
    await new Promise<void>((r) => this.hangServer!.listen(0, '127.0.0.1', r));
    this.ports.hang = (this.hangServer.address() as { port: number }).port;
    for (const k of ['delegated', 'caSigned', 'impostor', 'rogue', 'noEku', 'dead', 'intCaSigned', 'intNoCerts', 'intDelegated'] as const) this.ports[k] = await freePort();

    this.writeConfig();
    const subj = (cn: string) => `/C=US/ST=WA/O=Revocation Test/CN=${cn}`;
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    // the CA and a look-alike with the same name and another key
    this.ssl(['req', '-x509', '-config', 'req.cnf', '-extensions', 'v3_ca', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', subj('Revocation Test CA')]);
    this.ssl(['req', '-x509', '-config', 'req.cnf', '-extensions', 'v3_ca', ...ec, '-keyout', 'lookalike.key', '-out', 'lookalike.pem', '-days', '30', '-subj', subj('Revocation Test CA')]);
    this.ssl(['req', '-x509', '-config', 'req.cnf', '-extensions', 'v3_ocsp', ...ec, '-keyout', 'rogue-signer.key', '-out', 'rogue-signer.pem', '-days', '30', '-subj', subj('Rogue Responder')]);
    // the CA again: same name and key, another subjectKeyIdentifier (so the leaves' authorityKeyIdentifier misses it)
    this.ssl(['req', '-x509', '-config', 'req.cnf', '-extensions', 'v3_ca_altski', '-key', 'ca.key', '-out', 'ca-altski.pem', '-days', '30', '-subj', subj('Revocation Test CA')]);
    const issue = (name: string, ext: string, cn: string, cnf = 'ca.cnf') => {
      this.ssl(['req', '-new', '-config', 'req.cnf', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj(cn)]);
      this.ssl(['ca', '-batch', '-config', cnf, '-extensions', ext, '-in', `${name}.csr`, '-out', `${name}.pem`, '-notext', '-preserveDN', '-days', '30']);
    };
    issue('ocsp', 'v3_ocsp', 'Delegated OCSP Responder');
    issue('ocsp-noeku', 'v3_ocsp_noeku', 'OCSP Responder Without EKU');
    issue('int', 'v3_int', 'Revocation Test Intermediate');
    issue('int-ocsp', 'v3_ocsp', 'Intermediate Delegated OCSP Responder', 'int.cnf');
    const leafNames: LeafName[] = ['good', 'revoked', 'compromised', 'caSigned', 'impostor', 'rogue', 'noEku', 'fbGood', 'fbRevoked', 'down', 'hang', 'crlOnly', 'none', 'freshest'];
    for (const n of leafNames) issue(n, `leaf_${n}`, `Leaf ${n}`);
    for (const n of INT_LEAVES) issue(n, `leaf_${n}`, `Leaf ${n}`, 'int.cnf');
    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-revoke', 'revoked.pem', '-crl_reason', 'keyCompromise']);
    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-revoke', 'fbRevoked.pem', '-crl_reason', 'keyCompromise']);
    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-revoke', 'compromised.pem', '-crl_compromise', gt(COMPROMISED_AT)]);

    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-gencrl', '-crldays', '1', '-out', 'ca.crl.pem']);
    this.ssl(['crl', '-in', 'ca.crl.pem', '-outform', 'DER', '-out', 'ca.crl']);
    const day = 86_400_000;
    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-gencrl', '-crl_lastupdate', gt(new Date(Date.now() - 2 * day)), '-crl_nextupdate', gt(new Date(Date.now() - day)), '-out', 'stale.crl.pem']);
    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'lookalike.key', '-cert', 'lookalike.pem', '-crldays', '1', '-out', 'rogue.crl.pem']);
    this.ssl(['ca', '-batch', '-config', 'ca.cnf', '-gencrl', '-crlexts', 'crl_fresh', '-crldays', '1', '-out', 'fresh.crl.pem']);
    // a v1 CRL: openssl writes one when no extension is needed: no crlnumber file, no CRL extensions, and no entry
    // with a reason code (here: a database with no revocations)
    writeFileSync(join(this.dir, 'index-v1.txt'), '');
    writeFileSync(join(this.dir, 'ca-v1.cnf'), readFileSync(join(this.dir, 'ca.cnf'), 'utf8').split('\n')
      .filter((l) => !/^\s*crlnumber\s*=/.test(l)).map((l) => (/^\s*database\s*=/.test(l) ? 'database = $dir/index-v1.txt' : l)).join('\n'));
    this.ssl(['ca', '-batch', '-config', 'ca-v1.cnf', '-gencrl', '-crldays', '1', '-out', 'v1.crl.pem']);
    for (const f of ['stale', 'rogue', 'fresh', 'v1']) this.ssl(['crl', '-in', `${f}.crl.pem`, '-outform', 'DER', '-out', `${f}.crl`]);
    const read = (f: string) => readFileSync(join(this.dir, f));
    this.crl = { der: read('ca.crl'), pem: read('ca.crl.pem'), stale: read('stale.crl'), rogue: read('rogue.crl'), fresh: read('fresh.crl'), v1: read('v1.crl') };
    this.switchCrl = this.crl.der;

    this.ca = new X509Certificate(read('ca.pem'));
    this.int = new X509Certificate(read('int.pem'));
    this.caAltSki = new X509Certificate(read('ca-altski.pem'));
    for (const n of [...leafNames, ...INT_LEAVES]) {
      const cert = new X509Certificate(read(`${n}.pem`));
      this.leaves.set(n, { cert, key: createPrivateKey(read(`${n}.key`)), chain: INT_LEAVES.includes(n) ? [cert, this.int, this.ca] : [cert, this.ca] });
    }

    const responder = (port: number, signer: string, ca = 'ca', more: string[] = []) => {
      const index = ca === 'ca' ? 'index.txt' : `${ca}-index.txt`;
      const p = spawn('openssl', ['ocsp', '-index', index, '-port', String(port), '-CA', `${ca}.pem`, '-rsigner', `${signer}.pem`, '-rkey', `${signer}.key`, '-ndays', '1', ...more], {
        cwd: this.dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      this.procs.push(p);
      return whenListening(p, 10_000);
    };
    await Promise.all([
      responder(this.ports.delegated, 'ocsp'),
      responder(this.ports.caSigned, 'ca'),
      responder(this.ports.impostor, 'lookalike'),
      responder(this.ports.rogue, 'rogue-signer'),
      responder(this.ports.noEku, 'ocsp-noeku'),
      // the intermediate answering for itself, with its certificate in the response (openssl's default) and without
      responder(this.ports.intCaSigned, 'int', 'int'),
      responder(this.ports.intNoCerts, 'int', 'int', ['-resp_no_certs']),
      responder(this.ports.intDelegated, 'int-ocsp', 'int'),
    ]);
  }

  /** The private key openssl made for `name` ("ca", "ocsp", "int", a leaf name, …). */
  key(name: string): KeyObject {
    return createPrivateKey(readFileSync(join(this.dir, `${name}.key`)));
  }

  /**
   * A hand-made OCSP response saying `good` for `cert` (issued by `issuer`), signed with `signer` (ECDSA with
   * SHA-256), embedding `certs`. `nextUpdate: null` leaves nextUpdate out; `singleExtensions` go into the
   * SingleResponse (each value is the extnValue contents).
   */
  ocspResponse(
    cert: X509Certificate,
    issuer: X509Certificate,
    signer: KeyObject,
    opts: { nextUpdate?: Date | null; singleExtensions?: { oid: string; critical: boolean; value: Buffer }[]; certs?: X509Certificate[] } = {},
  ): Buffer {
    const gen = (d: Date) => tlv(0x18, Buffer.from(gt(d), 'latin1'));
    const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
    const c = certInfo(cert);
    const certId = tlv(0x30, tlv(0x30, oidDer('1.3.14.3.2.26'), Buffer.from([0x05, 0x00])), tlv(0x04, sha1(c.issuerDer)), tlv(0x04, sha1(certInfo(issuer).publicKeyBits)), tlv(0x02, c.serial));
    const now = Date.now();
    const nextUpdate = opts.nextUpdate === undefined ? new Date(now + 86_400_000) : opts.nextUpdate;
    const exts = opts.singleExtensions ?? [];
    const single = tlv(
      0x30,
      certId,
      Buffer.from([0x80, 0x00]), // good
      gen(new Date(now - 60_000)),
      ...(nextUpdate ? [tlv(0xa0, gen(nextUpdate))] : []),
      ...(exts.length > 0
        ? [tlv(0xa1, tlv(0x30, ...exts.map((e) => tlv(0x30, oidDer(e.oid), ...(e.critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), tlv(0x04, e.value)))))]
        : []),
    );
    const responderId = tlv(0xa2, tlv(0x04, sha1(certInfo(opts.certs?.[0] ?? issuer).publicKeyBits)));
    const tbs = tlv(0x30, responderId, gen(new Date(now)), tlv(0x30, single));
    const alg = tlv(0x30, oidDer('1.2.840.10045.4.3.2'));
    const sig = tlv(0x03, Buffer.from([0]), cryptoSign('sha256', tbs, signer));
    const certs = opts.certs?.length ? [tlv(0xa0, tlv(0x30, ...opts.certs.map((x) => x.raw)))] : [];
    const basic = tlv(0x30, tbs, alg, sig, ...certs);
    return tlv(0x30, tlv(0x0a, Buffer.from([0])), tlv(0xa0, tlv(0x30, oidDer('1.3.6.1.5.5.7.48.1.1'), tlv(0x04, basic))));
  }

  leaf(n: LeafName): Leaf {
    return this.leaves.get(n)!;
  }

  async stop(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null) p.kill();
    for (const s of this.hangSockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.crlServer ? this.crlServer.close(() => r()) : r())),
      new Promise<void>((r) => (this.hangServer ? this.hangServer.close(() => r()) : r())),
    ]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeConfig(): void {
    const d = this.dir;
    mkdirSync(join(d, 'newcerts'));
    writeFileSync(join(d, 'index.txt'), '');
    writeFileSync(join(d, 'serial'), '1000\n');
    writeFileSync(join(d, 'crlnumber'), '01\n');
    const http = (port: number, path = '/') => `http://${this.host}:${port}${path}`;
    const crl = `crlDistributionPoints = URI:${http(this.ports.crl, '/ca.crl')}`;
    const ocsp = (port: number) => `authorityInfoAccess = OCSP;URI:${http(port)}`;
    const leaf = (name: string, ...lines: string[]) =>
      [`[ leaf_${name} ]`, 'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning', 'authorityKeyIdentifier = keyid', ...lines, ''].join('\n');
    writeFileSync(
      join(d, 'req.cnf'),
      [
        '[ req ]',
        'distinguished_name = dn',
        'prompt = no',
        '[ dn ]',
        'CN = placeholder',
        '[ v3_ca ]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        '[ v3_ca_altski ]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = 00112233445566778899AABBCCDDEEFF00112233',
        '[ v3_ocsp ]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = OCSPSigning',
        '',
      ].join('\n'),
    );
    // one `openssl ca` database per CA: the root's (index.txt, …) and the intermediate's (int-index.txt, …)
    writeFileSync(join(d, 'int-index.txt'), '');
    writeFileSync(join(d, 'int-serial'), '2000\n');
    writeFileSync(join(d, 'int-crlnumber'), '01\n');
    const caConf = (files: { index: string; cert: string; key: string; serial: string; crlnumber: string }) => [
      '[ ca ]',
      'default_ca = CA_default',
      '[ CA_default ]',
      `dir = ${d}`,
      `database = $dir/${files.index}`,
      'new_certs_dir = $dir/newcerts',
      `certificate = $dir/${files.cert}`,
      `private_key = $dir/${files.key}`,
      `serial = $dir/${files.serial}`,
      `crlnumber = $dir/${files.crlnumber}`,
      'default_md = sha256',
      'default_days = 30',
      'default_crl_days = 1',
      'policy = policy_any',
      'unique_subject = no',
      'copy_extensions = none',
      '[ policy_any ]',
      'countryName = optional',
      'stateOrProvinceName = optional',
      'organizationName = optional',
      'commonName = supplied',
      '[ v3_ocsp ]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = OCSPSigning',
    ];
    writeFileSync(
      join(d, 'ca.cnf'),
      [
        ...caConf({ index: 'index.txt', cert: 'ca.pem', key: 'ca.key', serial: 'serial', crlnumber: 'crlnumber' }),
        '[ v3_ocsp_noeku ]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        '[ v3_int ]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        // a base CRL announcing delta CRLs (notation v1.3 refuses it)
        '[ crl_fresh ]',
        `freshestCRL = URI:${http(this.ports.crl, '/delta.crl')}`,
        leaf('good', ocsp(this.ports.delegated), crl),
        leaf('revoked', ocsp(this.ports.delegated), crl),
        leaf('compromised', ocsp(this.ports.delegated)),
        leaf('caSigned', ocsp(this.ports.caSigned)),
        leaf('impostor', ocsp(this.ports.impostor)),
        leaf('rogue', ocsp(this.ports.rogue)),
        leaf('noEku', ocsp(this.ports.noEku)),
        leaf('fbGood', ocsp(this.ports.dead), crl),
        leaf('fbRevoked', ocsp(this.ports.dead), crl),
        leaf('down', ocsp(this.ports.dead)),
        leaf('hang', ocsp(this.ports.hang)),
        leaf('crlOnly', `crlDistributionPoints = URI:${http(this.ports.crl, '/switch.crl')}`),
        leaf('none'),
        // a certificate pointing to delta CRLs: notation v1.3 ignores the pointer and checks the base CRL
        leaf('freshest', crl, `freshestCRL = URI:${http(this.ports.crl, '/delta.crl')}`),
      ].join('\n'),
    );
    writeFileSync(
      join(d, 'int.cnf'),
      [
        ...caConf({ index: 'int-index.txt', cert: 'int.pem', key: 'int.key', serial: 'int-serial', crlnumber: 'int-crlnumber' }),
        leaf('intCaSigned', ocsp(this.ports.intCaSigned)),
        leaf('intNoCerts', ocsp(this.ports.intNoCerts)),
        leaf('intDelegated', ocsp(this.ports.intDelegated)),
      ].join('\n'),
    );
  }
}
