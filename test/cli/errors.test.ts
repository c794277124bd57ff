import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileSystemError, printable } from '../../src/cli/io.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The built CLI (bin/docker-sign.js), with a deadline: a hang is a failure, not a stuck test run. */
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'docker-sign.js'), ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, DOCKER_SIGN_DEBUG: '' } });
  expect(r.error, `docker-sign ${args.join(' ')} did not finish`).to.equal(undefined);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli: bad local input and file-system failures are reported, never an internal error or a hang', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ds-clierr-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a config dir that cannot be created (procfs, a file in the way): FILE_SYSTEM_ERROR, exit 2', () => {
    const proc = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--config-dir', '/proc/docker-sign-nope']);
    expect(proc.code, proc.stderr).to.equal(2);
    expect(proc.stderr).to.equal("Error: cannot mkdir '/proc/docker-sign-nope': no such file or directory (ENOENT)\nHint: check that the path exists and is a directory or file as expected\n");
    writeFileSync(join(dir, 'file'), 'x');
    const file = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--config-dir', join(dir, 'file'), '-o', 'json']);
    expect(file.code, file.stderr).to.equal(2);
    expect(JSON.parse(file.stdout)).to.include({ error: 'FILE_SYSTEM_ERROR' });
    expect(file.stderr).to.match(/cannot mkdir '.*\/file': not a directory \(ENOTDIR\)/);
  });

  it('a signingkeys.json that cannot be read is an error naming it, not "no signing keys"', () => {
    mkdirSync(join(dir, 'signingkeys.json')); // as root, permissions do not stop a read: a directory does
    const r = cli(['key', 'ls', '--config-dir', dir]);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/^Error: cannot read '.*signingkeys\.json': illegal operation on a directory \(EISDIR\)/);
  });

  it('concurrent key commands on one config dir keep every entry (signingkeys.json is updated under a lock)', async () => {
    const run = (args: string[]) => new Promise<number | null>((res) => {
      const c = spawn(process.execPath, [join(ROOT, 'bin', 'docker-sign.js'), ...args, '--config-dir', dir], { stdio: 'ignore' });
      c.on('close', res);
    });
    const codes = await Promise.all(Array.from({ length: 8 }, (_, i) => run(['key', 'generate', `k${i}`, '--type', 'ec-p256'])));
    expect(codes).to.deep.equal(Array(8).fill(0));
    const names = () => JSON.parse(readFileSync(join(dir, 'signingkeys.json'), 'utf8')).keys.map((k: { name: string }) => k.name).sort();
    expect(names()).to.deep.equal(Array.from({ length: 8 }, (_, i) => `k${i}`));
    expect(existsSync(join(dir, 'signingkeys.json.lock'))).to.equal(false);
    // the same name at once: one wins, the others are refused, and the registered key is the winner's
    const same = await Promise.all(Array.from({ length: 4 }, () => run(['key', 'generate', 'dup', '--type', 'ec-p256'])));
    expect(same.filter((c) => c === 0)).to.have.length(1);
    const ls = JSON.parse(cli(['key', 'ls', '-o', 'json', '--config-dir', dir]).stdout);
    expect(ls.keys ?? ls).to.satisfy((keys: { name: string }[]) => keys.filter((k) => k.name === 'dup').length === 1);
    expect(cli(['key', 'rm', 'k3', '--config-dir', dir]).code).to.equal(0);
    expect(names()).to.not.include('k3');
  });

  it('key generate --subject must be a Notary Project DN; nothing is written otherwise', () => {
    for (const [subject, why] of [['garbage', /has no "=" and no value/], ['CN=Build', /no mandatory RDN attribute for "C"/], ['C=US, ST=WA, O=x, XX=1', /attribute type that cannot be encoded/]] as const) {
      const r = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--subject', subject, '--config-dir', dir]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(why);
      expect(r.stderr).to.not.match(/internal error/);
    }
    expect(readdirSync(dir)).to.deep.equal([]);
    const ok = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--subject', 'C=US, ST=WA, O=Example, CN=Build Signer', '--config-dir', dir, '-o', 'json']);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(JSON.parse(ok.stdout).subject).to.equal('CN=Build Signer, O=Example, ST=WA, C=US'); // RFC 4514 order, as Go (notation) prints it
  });

  it('policy init without --store/--identity names the stores here and the commands that would trust them', () => {
    const none = cli(['policy', 'init', '--config-dir', dir]);
    expect(none.code, none.stderr).to.equal(2);
    expect(none.stderr).to.contain('Error: a trust policy must name the trust stores (--store) and the trusted identities (--identity) it accepts');
    expect(none.stderr).to.contain('no trust store here yet');
    expect(cli(['key', 'generate', 'me', '--type', 'ec-p256', '--config-dir', dir]).code).to.equal(0);
    const r = cli(['policy', 'init', '--store', 'ca:me', '--config-dir', dir]);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.contain('trust stores here: ca:me');
    const pinned = /^ {2}(docker sign policy init --store ca:me --identity "x509\.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=me")$/m.exec(r.stderr);
    expect(pinned, r.stderr).to.not.equal(null);
    expect(existsSync(join(dir, 'trustpolicy.json'))).to.equal(false);
    // the suggested command, as printed, is a valid policy
    const args = pinned![1]!.replace(/^docker sign /, '').match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''));
    const ok = cli([...args, '--config-dir', dir]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(JSON.parse(readFileSync(join(dir, 'trustpolicy.json'), 'utf8')).trustPolicies[0].trustedIdentities).to.deep.equal(['x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=me']);
  });

  it('a notation config dir shared through symlinks stays shared: policy --force and key writes go through the links', () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    const cfg = join(dir, 'cfg');
    mkdirSync(cfg);
    writeFileSync(join(shared, 'trustpolicy.json'), '{}');
    writeFileSync(join(shared, 'signingkeys.json'), '{"keys":[]}\n');
    chmodSync(join(shared, 'signingkeys.json'), 0o640);
    symlinkSync(join(shared, 'trustpolicy.json'), join(cfg, 'trustpolicy.json'));
    symlinkSync(join(shared, 'signingkeys.json'), join(cfg, 'signingkeys.json'));
    expect(cli(['key', 'generate', 'k', '--type', 'ec-p256', '--config-dir', cfg]).code).to.equal(0);
    expect(cli(['policy', 'init', '--store', 'ca:k', '--identity', '*', '--force', '--config-dir', cfg]).code).to.equal(0);
    for (const f of ['trustpolicy.json', 'signingkeys.json']) expect(lstatSync(join(cfg, f)).isSymbolicLink(), f).to.equal(true);
    expect(JSON.parse(readFileSync(join(shared, 'signingkeys.json'), 'utf8')).keys.map((k: { name: string }) => k.name)).to.deep.equal(['k']);
    expect(statSync(join(shared, 'signingkeys.json')).mode & 0o777).to.equal(0o640);
    expect(JSON.parse(readFileSync(join(shared, 'trustpolicy.json'), 'utf8')).trustPolicies[0].trustedIdentities).to.deep.equal(['*']);
  });

  it('guard: a relative socket is refused before anything is written; a socket dir that cannot be made is GUARD_SOCKET, exit 3', () => {
    const specDir = join(dir, 'plugins');
    const rel = cli(['guard', 'install', '--socket', 'relative/guard.sock', '--spec-dir', specDir, '--config-dir', dir]);
    expect(rel.code, rel.stderr).to.equal(2);
    expect(rel.stderr).to.match(/--socket: the socket "relative\/guard\.sock" must be an absolute path/);
    expect(existsSync(specDir)).to.equal(false);
    expect(existsSync(join(dir, 'guard'))).to.equal(false);
    const serveRel = cli(['guard', 'serve', '--socket', 'g.sock', '--config-dir', dir]);
    expect(serveRel.code, serveRel.stderr).to.equal(2);
    const host = cli(['guard', 'serve', '--socket', join(dir, 'g.sock'), '--docker-host', 'garbage', '--config-dir', dir]);
    expect(host.code, host.stderr).to.equal(2);
    expect(host.stderr).to.contain('Error: unsupported docker host "garbage" for the guard');
    const audit = cli(['guard', 'serve', '--socket', join(dir, 'g.sock'), '--audit-log', '/etc/passwd/audit.log', '--config-dir', dir]);
    expect(audit.code, audit.stderr).to.equal(2);
    expect(audit.stderr).to.contain("Error: cannot mkdir '/etc/passwd': not a directory (ENOTDIR)");
    const proc = cli(['guard', 'serve', '--socket', '/proc/docker-sign-nope/g.sock', '--config-dir', dir]);
    expect(proc.code, proc.stderr).to.equal(3);
    expect(proc.stderr).to.match(/cannot serve \/proc\/docker-sign-nope\/g\.sock: ENOENT.*\nHint: pass --socket with a path in a directory that exists or can be created/);
  });

  it('trust store names "." and ".." are refused: cert rm/add never reach outside truststore/x509/<type>/<name>', () => {
    const k = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--config-dir', dir]);
    expect(k.code, k.stderr).to.equal(0);
    for (const name of ['..', '.']) {
      const rm = cli(['cert', 'rm', '-t', 'ca', '-s', name, '--all', '--config-dir', dir]);
      expect(rm.code, rm.stderr).to.equal(2);
      expect(rm.stderr).to.match(/trust store name "\.{1,2}" is not valid/);
      const add = cli(['cert', 'add', '-t', 'ca', '-s', name, join(dir, 'truststore', 'x509', 'ca', 'k', 'k.crt'), '--config-dir', dir]);
      expect(add.code, add.stderr).to.equal(2);
    }
    expect(existsSync(join(dir, 'truststore', 'x509', 'ca', 'k', 'k.crt'))).to.equal(true);
  });

  it('key generate after key rm of the same name adds the new root next to the old one and reports where it went', () => {
    const first = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--config-dir', dir, '-o', 'json']);
    expect(first.code, first.stderr).to.equal(0);
    expect(cli(['key', 'rm', 'k', '--config-dir', dir]).code).to.equal(0);
    const second = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--config-dir', dir, '-o', 'json']);
    expect(second.code, second.stderr).to.equal(0);
    const a = JSON.parse(first.stdout).trustStoreCertificate;
    const b = JSON.parse(second.stdout).trustStoreCertificate;
    expect(b).to.not.equal(a);
    expect(b).to.match(/k-2\.crt$/);
    expect(readFileSync(b, 'utf8')).to.contain('BEGIN CERTIFICATE');
    expect(readFileSync(a, 'utf8')).to.not.equal(readFileSync(b, 'utf8'));
  });

  it('key generate --days beyond the year 9999 is refused before anything is written', () => {
    const r = cli(['key', 'generate', 'k', '--type', 'ec-p256', '--days', '3000000', '--config-dir', dir, '-o', 'json']);
    expect(r.code, r.stderr).to.equal(2);
    expect(JSON.parse(r.stdout)).to.include({ error: 'INVALID_VALIDITY' });
    expect(existsSync(join(dir, 'signingkeys.json'))).to.equal(false);
  });

  it('errors of reads and writes on open files (no path in the error) are FILE_SYSTEM_ERROR, also as JSON', () => {
    mkdirSync(join(dir, 'store'), { recursive: true });
    writeFileSync(join(dir, 'store', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    mkdirSync(join(dir, 'store', 'index.json'));
    const r = cli(['store', 'ls', '--config-dir', dir, '-o', 'json']);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.not.contain('internal error');
    expect(JSON.parse(r.stdout)).to.include({ error: 'FILE_SYSTEM_ERROR' });
  });

  it('key import of a chain whose leaf has an empty subject works (node reports no subject at all for it)', () => {
    const sh = (cmd: string) => { const r = spawnSync('bash', ['-c', cmd], { cwd: dir, encoding: 'utf8' }); expect(r.status, r.stderr).to.equal(0); };
    sh('openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=CA" -days 30 -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign -out ca.pem 2>/dev/null');
    sh('openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=L" -out leaf.csr 2>/dev/null');
    sh('printf "keyUsage=critical,digitalSignature\\nsubjectAltName=URI:https://example.com\\n" > ext && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 10 -extfile ext -subj / -out leaf.pem 2>/dev/null && cat leaf.pem ca.pem > chain.pem');
    const r = cli(['key', 'import', 'k', '--key', join(dir, 'leaf.key'), '--cert', join(dir, 'chain.pem'), '--config-dir', join(dir, 'cfg'), '-o', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).chain).to.deep.equal(['', 'CN=CA']);
  });

  it('oclif usage errors (unknown flag, missing argument, bad value) read like ours: Error + Hint, JSON with -o json, exit 2', () => {
    const missing = cli(['ls', '-o', 'json']);
    expect(missing.code).to.equal(2);
    expect(JSON.parse(missing.stdout)).to.include({ error: 'USAGE', hint: "see 'docker sign ls --help'" });
    expect(missing.stderr).to.match(/^Error: Missing 1 required arg/);
    const bogus = cli(['verify', '--bogus', 'x', 'a/b:1']);
    expect(bogus.code).to.equal(2);
    expect(bogus.stderr).to.equal("Error: Nonexistent flag: --bogus\nHint: see 'docker sign verify --help'\n");
    const value = cli(['verify', '--max-signatures', '0', 'a/b:1', '--output=json']);
    expect(value.code).to.equal(2);
    expect(JSON.parse(value.stdout).message).to.equal('Parsing --max-signatures: Expected an integer greater than or equal to 1 but received: 0');
  });

  it('printable: control characters from registries and files are shown as escapes, never sent to the terminal', () => {
    expect(printable('ok\x1b[2J\x1b]0;title\x07 done\nnext\tline\u009b')).to.equal('ok\\x1b[2J\\x1b]0;title\\x07 done\nnext\tline\\x9b');
  });

  it('fileSystemError: errno errors that name a path or come from an open file, nothing else', () => {
    const e = Object.assign(new Error("EACCES: permission denied, open '/x/y'"), { code: 'EACCES', syscall: 'open', path: '/x/y' });
    const m = fileSystemError(e)!;
    expect(m.code).to.equal('FILE_SYSTEM_ERROR');
    expect(m.exitCode).to.equal(2);
    expect(m.message).to.equal("cannot open '/x/y': permission denied (EACCES)");
    expect(m.hint).to.match(/permissions/);
    expect(fileSystemError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1' }))).to.equal(undefined);
    expect(fileSystemError(new TypeError('x is undefined'))).to.equal(undefined);
    const eisdir = fileSystemError(Object.assign(new Error('EISDIR: illegal operation on a directory, read'), { code: 'EISDIR', syscall: 'read' }))!;
    expect(eisdir.message).to.equal('cannot read a file: illegal operation on a directory (EISDIR)');
    expect(fileSystemError(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' }))).to.equal(undefined);
    expect(fileSystemError(Object.assign(new Error('bad'), { code: 'ERR_INVALID_ARG_TYPE', syscall: 'open', path: '/x' }))).to.equal(undefined);
  });
});
