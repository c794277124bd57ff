import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../../src/cli/out.ts', import.meta.url));

/** Runs `body` in a child (node + tsx) with writeStdout / writeStderr imported from src/cli/out.ts, through bash. */
function run(body: string, shell: (cmd: string) => string): { status: number | null; stdout: string; stderr: string } {
  const script = `const { writeStdout, writeStderr } = await import(${JSON.stringify(OUT)});\n${body}`;
  const node = `"$DS_NODE" --import tsx --input-type=module -e "$DS_SCRIPT"`;
  const r = spawnSync('bash', ['-c', shell(node)], { encoding: 'utf8', env: { ...process.env, DS_NODE: process.execPath, DS_SCRIPT: script } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli: stdout/stderr lines written without node stdio streams (src/cli/out.ts)', function () {
  this.timeout(60_000);

  it('writes the exact bytes (multi-byte text too) in order across stdout and stderr', () => {
    const r = run("writeStdout('a: ü €\\n'); writeStderr('b\\n'); writeStdout('c\\n');", (n) => `${n} 2>&1`);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('a: ü €\nb\nc\n');
  });

  it('a reader that closes the pipe early (`| head -1`) ends the run quietly with the exit code so far', () => {
    const r = run("for (let i = 0; i < 200000; i++) writeStdout(`line ${i}\\n`); writeStderr('not reached\\n');",
      (n) => `${n} 2>/tmp/ds-out-test-err | head -1; echo "exit=\${PIPESTATUS[0]}"; cat /tmp/ds-out-test-err; rm -f /tmp/ds-out-test-err`);
    expect(r.stdout).to.equal('line 0\nexit=0\n');
  });

  it('output larger than a pipe buffer reaches a slow reader whole', () => {
    const r = run("const l = 'x'.repeat(1023) + '\\n'; for (let i = 0; i < 512; i++) writeStdout(l);", (n) => `${n} | (sleep 0.3; wc -c)`);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(String(512 * 1024));
  });
});
