import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirs, mkdirsSync } from '../../src/config/mkdir.js';

describe('config/mkdir: mkdir -p', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ds-mkdir-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates missing parents with the mode, and accepts a directory that exists', async () => {
    const deep = join(dir, 'a', 'b', 'c');
    mkdirsSync(deep, 0o700);
    for (const p of [join(dir, 'a'), join(dir, 'a', 'b'), deep]) expect(statSync(p).mode & 0o777).to.equal(0o700 & ~process.umask());
    mkdirsSync(deep);
    await mkdirs(deep);
    await mkdirs(join(deep, 'd', 'e'));
    expect(statSync(join(deep, 'd', 'e')).isDirectory()).to.equal(true);
  });

  it('fails (instead of looping) where mkdir(2) says ENOENT under an existing parent: procfs', async () => {
    // node's own recursive mkdir spins at 100% CPU forever on these paths
    expect(() => mkdirsSync('/proc/docker-sign-nope/x')).to.throw().with.property('code', 'ENOENT');
    let err: unknown;
    await mkdirs('/proc/docker-sign-nope').catch((e) => { err = e; });
    expect(err).to.have.property('code', 'ENOENT');
  });

  it('a file in the way is an error, not a directory', () => {
    writeFileSync(join(dir, 'f'), 'x');
    expect(() => mkdirsSync(join(dir, 'f'))).to.throw(/not a directory, mkdir/).with.property('code', 'ENOTDIR');
    expect(() => mkdirsSync(join(dir, 'f', 'g'))).to.throw().with.property('code', 'ENOTDIR');
  });
});
