import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { complete, type CompletionTable } from '../../src/cli/complete.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('cli: shell completion (docker-sign __complete, cobra protocol)', () => {
  // the table the build writes from the oclif commands
  const table = JSON.parse(readFileSync(join(ROOT, 'dist', 'completion.json'), 'utf8')) as CompletionTable;
  const lookups = { images: async () => ['app:1', 'localhost:5000/app:2', 'other:latest'], keys: (dir?: string) => (dir === '/cfg' ? ['ci-key'] : ['dev', 'release']) };
  const ask = async (plugin: string, ...words: string[]) => {
    const text = await complete(table, plugin, words, {}, lookups);
    const lines = text.trimEnd().split('\n');
    return { values: lines.slice(0, -1).map((l) => l.split('\t')[0]), lines: lines.slice(0, -1), directive: lines.at(-1) };
  };

  it('docker sign <TAB>: the commands and topics with their summaries, and the local images to sign', async () => {
    const r = await ask('sign', '');
    expect(r.values).to.include.members(['verify', 'push', 'ls', 'inspect', 'pull', 'install', 'generate', 'key', 'cert', 'policy', 'guard', 'store', 'app:1', 'other:latest']);
    expect(r.values).to.not.include('sign');
    expect(r.lines).to.include('verify\tVerify the signatures of an image against the trust policy');
    expect(r.lines).to.include('key\tManage signing keys and certificates');
    expect(r.directive).to.equal(':4');
    expect((await ask('sign', 've')).values).to.deep.equal(['verify']);
    expect((await ask('sign', 'ap')).values).to.deep.equal(['app:1']);
  });

  it('sub-commands of a topic; the images of commands that take one; nothing after the argument', async () => {
    expect((await ask('sign', 'key', '')).values).to.deep.equal(['generate', 'import', 'ls', 'rm', 'default']);
    expect((await ask('sign', 'store', 'p')).values).to.deep.equal(['prune']);
    expect((await ask('generate', '')).values).to.deep.equal(['manifest']);
    expect((await ask('generate', 'manifest', '')).values).to.deep.equal(['app:1', 'localhost:5000/app:2', 'other:latest']);
    expect((await ask('sign', 'push', 'loc')).values).to.deep.equal(['localhost:5000/app:2']);
    expect((await ask('sign', 'verify', 'app:1', '')).values).to.deep.equal([]);
    expect((await ask('sign', 'push', '--key', 'dev', '')).values).to.include('app:1'); // a flag's value is no argument
  });

  it('flags of the command (long and short), and their values: options, signing keys, files', async () => {
    const f = await ask('sign', 'verify', '--o');
    expect(f.values).to.deep.equal(['--output', '--oci-layout']);
    expect(f.lines[0]).to.equal('--output\toutput format');
    expect((await ask('sign', 'verify', '-o', '')).values).to.deep.equal(['text', 'json']);
    expect((await ask('sign', '--signature-format', '')).values).to.deep.equal(['jws', 'cose']);
    expect((await ask('sign', 'app:1', '--signature-format=c')).values).to.deep.equal(['--signature-format=cose']);
    expect((await ask('sign', '-k', '')).values).to.deep.equal(['dev', 'release']);
    expect((await ask('sign', '--config-dir', '/cfg', '--key', '')).values).to.deep.equal(['ci-key']);
    expect((await ask('sign', 'key', 'rm', 're')).values).to.deep.equal(['release']);
    expect((await ask('sign', 'key', 'default', 'dev', '')).values).to.deep.equal([]);
    // paths: no candidates, and the shell completes file names (directive 0)
    for (const words of [['guard', 'install', '--daemon-json', ''], ['guard', 'install', '--pidfile', ''], ['install', '--rc', ''], ['key', 'import', 'k', '--cert', ''], ['key', 'import', 'k', '--key', ''], ['cert', 'add', '--type', 'ca', '--store', 's', ''], ['policy', 'import', ''], ['verify', '--oci-layout', '']]) {
      const r = await ask('sign', ...words);
      expect([r.values, r.directive], words.join(' ')).to.deep.equal([[], ':0']);
    }
    expect((await ask('sign', 'key', 'generate', 'k', '--type', '')).values).to.include('ec-p256');
  });

  it('through the real docker CLI: docker __complete sign … runs the installed plug-in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-complete-'));
    try {
      const env = { ...process.env, DOCKER_CONFIG: join(dir, 'docker'), DOCKER_SIGN_CONFIG: join(dir, 'cfg') };
      const inst = spawnSync(process.execPath, [join(ROOT, 'bin', 'docker-sign.js'), 'install'], { env, encoding: 'utf8' });
      expect(inst.status, inst.stderr).to.equal(0);
      const gen = spawnSync(process.execPath, [join(ROOT, 'bin', 'docker-sign.js'), 'key', 'generate', 'tabkey', '--type', 'ec-p256'], { env, encoding: 'utf8' });
      expect(gen.status, gen.stderr).to.equal(0);
      const docker = (...words: string[]) => {
        const r = spawnSync('docker', ['__complete', ...words], { env, encoding: 'utf8', timeout: 20_000 });
        expect(r.status, r.stderr).to.equal(0);
        return r.stdout;
      };
      expect(docker('sign', 'ver')).to.equal('verify\tVerify the signatures of an image against the trust policy\n:4\n');
      expect(docker('sign', 'key', 'rm', '')).to.equal('tabkey\n:4\n');
      expect(docker('generate', '')).to.match(/^manifest\tBuild the OCI image manifest/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
