import { expect } from 'chai';

describe('cli: flags that repeat take one value each (never the argument after them)', () => {
  it('every multiple flag of every command is non-greedy (`pull -m a=b IMAGE`: IMAGE stays the argument)', async () => {
    const { COMMANDS } = await import('../../src/commands/index.js');
    const greedy: string[] = [];
    for (const [id, cmd] of Object.entries(COMMANDS)) {
      const flags = { ...((cmd as { baseFlags?: object }).baseFlags ?? {}), ...((cmd as { flags?: object }).flags ?? {}) } as Record<string, { multiple?: boolean; multipleNonGreedy?: boolean }>;
      for (const [name, f] of Object.entries(flags)) if (f.multiple && !f.multipleNonGreedy) greedy.push(`${id} --${name}`);
    }
    expect(greedy).to.deep.equal([]);
    const { Parser } = await import('@oclif/core');
    const Pull = COMMANDS.pull as unknown as { flags: object; args: object };
    const out = await Parser.parse(['-m', 'a=b', '-m', 'c=d', 'localhost:5000/app:1'], { flags: Pull.flags, args: Pull.args, strict: true } as never);
    expect((out.flags as unknown as { 'user-metadata': string[] })['user-metadata']).to.deep.equal(['a=b', 'c=d']);
    expect(Object.values(out.args as Record<string, unknown>)).to.deep.equal(['localhost:5000/app:1']);
  });
});
