import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Parser } from '@oclif/core';
import { COMMON_FLAGS, parseCommandArgs, type CommandSpec } from '../../src/cli/spec.js';
import { oclifArgs, oclifFlags } from '../../src/commands/flags.js';
import * as verifyCmd from '../../src/cli/verify.js';
import * as signCmd from '../../src/cli/sign.js';
import * as lsCmd from '../../src/cli/ls.js';
import * as inspectCmd from '../../src/cli/inspect.js';
import * as pushCmd from '../../src/cli/push.js';
import * as generateCmd from '../../src/cli/generate.js';
import GenerateManifestCommand from '../../src/commands/generate/manifest.js';
import VerifyCommand from '../../src/commands/verify.js';
import SignCommand from '../../src/commands/sign.js';
import { BaseCommand } from '../../src/commands/base.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** oclif's own parse of argv for a command built from `spec` (what BaseCommand.parseCommon gets). */
async function oclifParse(spec: CommandSpec, argv: string[]) {
  const out = await Parser.parse(argv, {
    flags: { ...oclifFlags(COMMON_FLAGS), ...oclifFlags(spec.flags) },
    args: oclifArgs(spec),
    strict: true,
    context: undefined,
  } as never);
  return { args: out.args as Record<string, unknown>, flags: out.flags as Record<string, unknown> };
}

describe('cli: fast path argv parsing (src/cli/spec.ts) vs oclif', () => {
  const saved = process.env.DOCKER_SIGN_CONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.DOCKER_SIGN_CONFIG;
    else process.env.DOCKER_SIGN_CONFIG = saved;
  });

  const accepted: [string, CommandSpec, string[]][] = [
    ['verify', verifyCmd.spec, ['reg.io/app:1']],
    ['verify', verifyCmd.spec, ['reg.io/app:1', '-o', 'json']],
    ['verify', verifyCmd.spec, ['--output=json', '--config-dir', '/tmp/cfg', 'reg.io/app:1']],
    ['verify', verifyCmd.spec, ['-v', '--max-signatures', '3', '--insecure-registry', 'reg.io/app:1']],
    ['verify', verifyCmd.spec, ['--max-signatures=7', '--oci-layout', './lay', 'reg.io/app@sha256:' + 'a'.repeat(64)]],
    ['sign', signCmd.spec, ['reg.io/app:1']],
    ['sign', signCmd.spec, ['-a', 'env=prod', '-a', 'build=42', '--expiry', '30d', 'reg.io/app:1']],
    ['sign', signCmd.spec, ['--annotation=a=b', 'reg.io/app:1', '-a', 'c=d', '-k', 'mykey', '--signature-format', 'cose']],
    ['sign', signCmd.spec, ['--remote', '-q', '--insecure-registry', 'reg.io/app:1', '-o', 'json']],
    ['sign', signCmd.spec, ['--local', 'app:1']],
    ['sign', signCmd.spec, ['--oci-layout', './layout', 'v1', '-e', '24h']],
    ['ls', lsCmd.spec, ['--local', 'app:1']],
    ['inspect', inspectCmd.spec, ['-o', 'json', '--oci-layout', './l', 'v1']],
    ['push', pushCmd.spec, ['reg.io/app:1']],
    ['push', pushCmd.spec, ['-q', '-o', 'json', '--concurrency', '8', '--compression-level=6', 'reg.io/app:1']],
    ['push', pushCmd.spec, ['--media-type', 'docker', '--platform', 'linux/amd64', '--no-signatures', '--insecure-registry', 'reg.io/app:1']],
    ['generate manifest', generateCmd.spec, ['app:1']],
    ['generate manifest', generateCmd.spec, ['-o', 'json', '-f', 'm.json', '--media-type', 'docker', '--force', '-q', '--compression-level', '9', 'app:1']],
  ];
  for (const [name, spec, argv] of accepted) {
    it(`${name} ${argv.join(' ')}: same args and flags as oclif`, async () => {
      const fast = parseCommandArgs(spec, argv, {});
      expect(fast, 'the fast path should accept this argv').to.not.equal(undefined);
      delete process.env.DOCKER_SIGN_CONFIG;
      const o = await oclifParse(spec, argv);
      expect(fast!.args).to.deep.equal(o.args);
      expect(fast!.flags).to.deep.equal(o.flags);
    });
  }

  it('DOCKER_SIGN_CONFIG gives --config-dir as in oclif; the flag wins over it; an empty value is ignored', async () => {
    for (const [env, argv] of [
      [{ DOCKER_SIGN_CONFIG: '/from/env' }, ['x:1']],
      [{ DOCKER_SIGN_CONFIG: '/from/env' }, ['--config-dir', '/flag', 'x:1']],
      [{ DOCKER_SIGN_CONFIG: '' }, ['x:1']],
    ] as const) {
      const fast = parseCommandArgs(verifyCmd.spec, [...argv], env);
      process.env.DOCKER_SIGN_CONFIG = env.DOCKER_SIGN_CONFIG;
      const o = await oclifParse(verifyCmd.spec, [...argv]);
      expect(fast!.flags).to.deep.equal(o.flags);
    }
    expect(parseCommandArgs(verifyCmd.spec, ['x:1'], { DOCKER_SIGN_CONFIG: '/from/env' })!.flags['config-dir']).to.equal('/from/env');
  });

  // Everything oclif rejects, or could read differently, must go to oclif (undefined here).
  const rejected: [string, CommandSpec, string[]][] = [
    ['unknown flag', verifyCmd.spec, ['--bogus', 'x:1']],
    ['--help', verifyCmd.spec, ['--help', 'x:1']],
    ['-h', signCmd.spec, ['-h']],
    ['missing argument', verifyCmd.spec, []],
    ['extra argument', verifyCmd.spec, ['a:1', 'b:1']],
    ['-o outside its options', verifyCmd.spec, ['-o', 'yaml', 'x:1']],
    ['--signature-format outside its options', signCmd.spec, ['--signature-format', 'pgp', 'x:1']],
    ['integer below min', verifyCmd.spec, ['--max-signatures', '0', 'x:1']],
    ['not an integer', verifyCmd.spec, ['--max-signatures', '1.5', 'x:1']],
    ['exclusive flags', signCmd.spec, ['--local', '--remote', 'x:1']],
    ['exclusive with a value flag', lsCmd.spec, ['--local', '--oci-layout', 'l', 'x:1']],
    ['single-value flag twice', signCmd.spec, ['-k', 'a', '-k', 'b', 'x:1']],
    ['short group', verifyCmd.spec, ['-vo', 'json', 'x:1']],
    ['attached short value', verifyCmd.spec, ['-ojson', 'x:1']],
    ['boolean with a value', verifyCmd.spec, ['--verbose=true', 'x:1']],
    ['value that looks like a flag', signCmd.spec, ['--key=--remote', 'x:1']],
    ['empty value', signCmd.spec, ['--key=', 'x:1']],
    ['option terminator', verifyCmd.spec, ['--', 'x:1']],
    ['flag without its value', signCmd.spec, ['x:1', '--key']],
    ['integer above max', pushCmd.spec, ['--compression-level', '10', 'x:1']],
    ['integer above max (concurrency)', pushCmd.spec, ['--concurrency=33', 'x:1']],
  ];
  for (const [what, spec, argv] of rejected) {
    it(`falls back to oclif: ${what} (${argv.join(' ')})`, () => {
      expect(parseCommandArgs(spec, argv, {})).to.equal(undefined);
    });
  }

  it('oclif usage errors for the rejected argv that oclif itself refuses', async () => {
    for (const argv of [['--bogus', 'x:1'], ['-o', 'yaml', 'x:1'], ['--max-signatures', '0', 'x:1'], ['a:1', 'b:1']]) {
      let err: unknown;
      try {
        await oclifParse(verifyCmd.spec, argv);
      } catch (e) {
        err = e;
      }
      expect(err, argv.join(' ')).to.be.instanceOf(Error);
    }
    let above: unknown;
    try {
      await oclifParse(pushCmd.spec, ['--compression-level', '10', 'x:1']);
    } catch (e) {
      above = e;
    }
    expect(above, 'push --compression-level 10').to.be.instanceOf(Error);
  });

  it('the oclif commands take their flags and args from the same tables', () => {
    expect(Object.keys(VerifyCommand.flags)).to.deep.equal(Object.keys(verifyCmd.spec.flags));
    expect(Object.keys(SignCommand.flags)).to.deep.equal(Object.keys(signCmd.spec.flags));
    expect(Object.keys(GenerateManifestCommand.flags)).to.deep.equal(Object.keys(generateCmd.spec.flags));
    expect(Object.keys(BaseCommand.baseFlags)).to.deep.equal(Object.keys(COMMON_FLAGS));
    expect(Object.keys(VerifyCommand.args)).to.deep.equal(['reference']);
    const a = SignCommand.flags.annotation as { multiple?: boolean; multipleNonGreedy?: boolean; char?: string };
    expect([a.multiple, a.multipleNonGreedy, a.char]).to.deep.equal([true, true, 'a']);
    const sf = SignCommand.flags['signature-format'] as { options?: string[]; default?: string };
    expect([sf.options, sf.default]).to.deep.equal([['jws', 'cose'], 'jws']);
  });
});

/**
 * The whole CLI (src/cli.ts main, run from source with tsx), once on the fast path and once forced through oclif
 * (DOCKER_SIGN_NO_FAST_PATH=1): same stdout, stderr and exit code. A preload records whether oclif was loaded.
 */
describe('cli: fast path vs oclif, whole process (no registry needed)', function () {
  this.timeout(60_000);
  let dir: string;
  const probe = () => join(dir, 'probe.mjs');
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-fastpath-'));
    writeFileSync(probe(), "process.on('exit', () => { if (process.env.DS_PROBE_OUT) require('node:fs').writeFileSync(process.env.DS_PROBE_OUT, globalThis.oclif ? 'oclif' : 'fast'); });\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    const out = join(dir, `probe-${Math.random().toString(16).slice(2)}`);
    const script = `import(${JSON.stringify(join(ROOT, 'src', 'cli.ts'))}).then((m) => m.main('sign', process.argv.slice(1)))`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', probe(), '--input-type=module', '-e', script, '--', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, DOCKER_SIGN_CONFIG: join(dir, 'cfg'), DOCKER_SIGN_NO_FAST_PATH: '', ...env, DS_PROBE_OUT: out },
      timeout: 60_000,
    });
    let path = '';
    try {
      path = readFileSync(out, 'utf8');
    } catch {
      path = 'none';
    }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, path };
  }

  function same(args: string[], expectPath: 'fast' | 'oclif', expectCode: number) {
    const fast = cli(args);
    const slow = cli(args, { DOCKER_SIGN_NO_FAST_PATH: '1' });
    expect(slow.path, 'forced run must use oclif').to.equal('oclif');
    expect(fast.path, `docker sign ${args.join(' ')}`).to.equal(expectPath);
    expect({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).to.deep.equal({ code: slow.code, stdout: slow.stdout, stderr: slow.stderr });
    expect(fast.code, fast.stderr).to.equal(expectCode);
    return fast;
  }

  it('verify of an invalid reference: same DockerSignError text and exit 2, without loading oclif', () => {
    const r = same(['verify', 'UPPER/Case:1'], 'fast', 2);
    expect(r.stderr).to.match(/^Error: /);
  });

  it('-o json errors: same JSON on stdout', () => {
    const r = same(['verify', '-o', 'json', 'UPPER/Case:1'], 'fast', 2);
    expect(JSON.parse(r.stdout).error).to.be.a('string');
    same(['ls', 'UPPER/Case:1', '--output=json'], 'fast', 2);
  });

  it('sign with a bad --expiry / annotation / timestamp flags: same input errors', () => {
    same(['sign', '--remote', '--expiry', '3 days', 'reg.io/app:1'], 'fast', 2);
    same(['--remote', '-a', 'novalue', 'reg.io/app:1'], 'fast', 2);
    const half = same(['--remote', '--timestamp-url', 'http://tsa.example/', 'reg.io/app:1'], 'fast', 2);
    expect(half.stderr).to.match(/--timestamp-url and --timestamp-root-cert go together/);
    const missing = same(['--remote', '--timestamp-url', 'http://tsa.example/', '--timestamp-root-cert', join(dir, 'nope.pem'), 'reg.io/app:1'], 'fast', 2);
    expect(missing.stderr).to.match(/cannot read --timestamp-root-cert/);
    same(['--remote', '--timestamp-url', 'ftp://tsa.example/', '--timestamp-root-cert', join(dir, 'nope.pem'), 'reg.io/app:1'], 'fast', 2);
  });

  it('unknown flag → oclif usage error (exit 2); --help → oclif help', () => {
    const u = same(['verify', '--bogus', 'x:1'], 'oclif', 2);
    expect(u.stderr).to.match(/Nonexistent flag: --bogus/);
    const h = same(['verify', '--help'], 'oclif', 0);
    expect(h.stdout).to.include('$ docker sign verify REFERENCE');
    same(['sign', '--local', '--remote', 'x:1'], 'oclif', 2);
    same(['verify', '-o', 'yaml', 'x:1'], 'oclif', 2);
  });

  it('other commands still go to oclif', () => {
    same(['key', 'ls'], 'oclif', 0);
  });
});
