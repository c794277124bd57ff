import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CODECACHE = fileURLToPath(new URL('../../src/cli/codecache.ts', import.meta.url));

/**
 * The code cache is written at process exit, so every load runs in a child process (node + tsx, as the tests run).
 * The child loads a CommonJS bundle with requireBundle, calls it, and prints what it did with the cache.
 */
describe('cli: V8 code cache for the fast-path bundles (src/cli/codecache.ts)', function () {
  this.timeout(60_000);
  let dir: string;
  let bundle: string;
  let cacheDir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ds-codecache-'));
    bundle = join(dir, 'cmd.cjs');
    cacheDir = join(dir, 'cache');
    writeFileSync(bundle, 'const { join } = require("node:path");\nexports.run = (a, b) => join(String(a), String(b)) + ":" + (a + b);\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function load(env: NodeJS.ProcessEnv = {}, exitCode = 0): { out: string; cache: string; cacheFile?: string } {
    const script = `const m = await import(${JSON.stringify(CODECACHE)});
const b = m.requireBundle(${JSON.stringify(bundle)}, 'cmd');
process.stdout.write(JSON.stringify({ out: b.run(2, 3), cache: m.lastLoad.cache, cacheFile: m.lastLoad.cacheFile }));
process.exitCode = ${exitCode};`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_SIGN_NO_CODE_CACHE: '', DOCKER_SIGN_CACHE_DIR: cacheDir, ...env },
    });
    expect(r.status, r.stderr).to.equal(exitCode);
    return JSON.parse(r.stdout);
  }

  const files = () => readdirSync(join(cacheDir, 'code-cache')).sort();

  it('writes the cache on the first run (0600 in a 0700 folder) and uses it on the next', () => {
    const first = load();
    expect(first).to.include({ out: '2/3:5', cache: 'miss' });
    expect(files()).to.have.length(1);
    expect(files()[0]).to.match(/^cmd-[0-9a-f]{32}\.bin$/);
    expect(statSync(first.cacheFile!).mode & 0o777).to.equal(0o600);
    expect(statSync(join(cacheDir, 'code-cache')).mode & 0o777).to.equal(0o700);
    expect(load()).to.include({ out: '2/3:5', cache: 'hit' });
  });

  it('a failed run leaves a partial cache, used until a successful run replaces it with a full one', () => {
    expect(load({}, 2)).to.include({ cache: 'miss' });
    expect(files()).to.have.length(1);
    expect(files()[0]).to.match(/^cmd-[0-9a-f]{32}\.partial\.bin$/);
    expect(load({}, 2)).to.include({ cache: 'partial' }); // another failure keeps it as it is
    expect(files()[0]).to.match(/\.partial\.bin$/);
    expect(load()).to.include({ out: '2/3:5', cache: 'partial' });
    expect(files()).to.have.length(1);
    expect(files()[0]).to.match(/^cmd-[0-9a-f]{32}\.bin$/);
    expect(load()).to.include({ cache: 'hit' });
    expect(load({}, 1)).to.include({ cache: 'hit' }); // a full cache stays
    expect(files()[0]).to.match(/^cmd-[0-9a-f]{32}\.bin$/);
  });

  it('a damaged cache file is rejected by V8, the bundle still runs, and the file is rewritten', () => {
    const { cacheFile } = load();
    writeFileSync(cacheFile!, Buffer.alloc(4096, 7), { mode: 0o600 });
    expect(load()).to.include({ out: '2/3:5', cache: 'rejected' });
    expect(load()).to.include({ out: '2/3:5', cache: 'hit' });
  });

  it('ignores a cache file that others may write, and replaces it', () => {
    const { cacheFile } = load();
    chmodSync(cacheFile!, 0o666);
    expect(load()).to.include({ out: '2/3:5', cache: 'miss' });
    expect(statSync(cacheFile!).mode & 0o777).to.equal(0o600);
  });

  it('a changed bundle gets a cache of its own; the old one stays a week (another install may use it), then goes', () => {
    const before = load().cacheFile!;
    writeFileSync(bundle, 'exports.run = (a, b) => "changed:" + (a * b);\n');
    const after = load();
    expect(after).to.include({ out: 'changed:6', cache: 'miss' });
    expect(after.cacheFile).to.not.equal(before);
    expect(files().sort()).to.deep.equal([before, after.cacheFile!].map((f) => f.split('/').pop()).sort());
    const old = new Date(Date.now() - 8 * 24 * 3600_000);
    utimesSync(before, old, old);
    writeFileSync(bundle, 'exports.run = (a, b) => "again:" + (a * b);\n');
    const third = load();
    expect(files().sort()).to.deep.equal([after.cacheFile!, third.cacheFile!].map((f) => f.split('/').pop()).sort());
  });

  it('DOCKER_SIGN_NO_CODE_CACHE turns it off; an unusable cache folder only means no cache', () => {
    expect(load({ DOCKER_SIGN_NO_CODE_CACHE: '1' })).to.include({ out: '2/3:5', cache: 'off' });
    expect(() => files()).to.throw();
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    expect(load({ DOCKER_SIGN_CACHE_DIR: join(dir, 'not-a-dir') })).to.include({ out: '2/3:5', cache: 'miss' });
    expect(load({ DOCKER_SIGN_CACHE_DIR: join(dir, 'not-a-dir') })).to.include({ out: '2/3:5', cache: 'miss' });
  });
});
