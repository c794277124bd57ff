// Builds dist/ with esbuild, in two parts:
//  - the split build: one ESM bundle per entry with code splitting, so a command loads only the chunks it imports
//    (heavy modules are imported lazily inside commands): dist/oclif.js (oclif's run, loaded only when oclif runs),
//    dist/commands/index.js (oclif's command table), dist/guard.js;
//  - dist/cli.cjs (src/cli.ts: argv routing), a file of its own (no runtime chunk to load first);
//  - the fast path, dist/fast/<command>.cjs (src/cli/fast/<command>.ts) for verify / sign / ls / inspect without
//    oclif, one CommonJS file per command bundled WITHOUT splitting: its lazy imports become lazily-initialised parts
//    of the one file, so a run reads and compiles one file holding only that command's code instead of ~25 chunks
//    (verify: ~11 ms less per run than the split chunks on the 2-core dev box). CommonJS because dist/cli.cjs loads
//    it as a vm.Script with a V8 code cache (src/cli/codecache.ts; ~8 ms less again), and because its builtins are
//    then plain require()s taken when first used. The few npm packages those commands use only in rare modes
//    (dockerode, cli-progress, tar-stream outside push/generate/sign; @peculiar/x509, pkijs) stay external and load
//    from node_modules when needed (the code imports them dynamically and takes `default ?? module`).
// dist/cli.cjs reaches oclif through `import('./cli/oclif.js')`, rewritten below to dist/oclif.js.
// Type checking is `npm run typecheck`.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

// Native or optional modules stay external (resolved from node_modules at run time).
// typescript: @oclif/core require()s it only to read tsconfig.json in development mode; bundled it was 9 MB of
// the CLI chunk and cost ~120 ms of parse on every start (`docker sign --help` 230 ms -> 110 ms with it external).
// https-proxy-agent / http-proxy-agent: loaded only when a proxy is configured (src/registry/proxy.ts).
const external = ['cpu-features', 'ssh2', 'cbor-extract', '*.node', 'typescript', 'https-proxy-agent', 'http-proxy-agent'];
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __dsCreateRequire } from 'node:module'; const require = __dsCreateRequire(import.meta.url);",
  },
};

const FAST_COMMANDS = ['verify', 'sign', 'ls', 'inspect', 'push', 'generate'];

/** In src/cli.ts: `import('./cli/oclif.js')` → dist/oclif.js. */
const cliEntryExternals = {
  name: 'cli-entry-externals',
  setup(b) {
    b.onResolve({ filter: /^\.\/cli\/oclif\.js$/ }, (a) =>
      a.importer.endsWith('src/cli.ts') ? { path: a.path.replace('./cli/', './'), external: true } : undefined,
    );
  },
};

/** dist/<name>.cjs: one CommonJS file of `entry`, loaded by require(). */
const cjsBundle = (name, entry) => build({
  ...common,
  format: 'cjs',
  banner: undefined,
  entryPoints: { [name]: entry },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist',
  splitting: false,
  external,
});

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    entryPoints: {
      oclif: 'src/cli/oclif.ts',
      'commands/index': 'src/commands/index.ts',
      guard: 'plugins/guard/main.ts',
    },
    outdir: 'dist',
    splitting: true,
    external,
    chunkNames: 'chunks/[name]-[hash]',
  }),
  // dist/cli.cjs: CommonJS, like bin/ and the fast bundles, so a fast-path run never starts the ES module loader
  // (~4 ms); oclif (ESM) is reached through a real import() when needed.
  build({
    ...common,
    format: 'cjs',
    banner: { js: "const __dsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__dsImportMetaUrl' },
    entryPoints: { cli: 'src/cli.ts' },
    outExtension: { '.js': '.cjs' },
    plugins: [cliEntryExternals],
    outdir: 'dist',
    splitting: false,
    external,
  }),
  // dist/early.cjs: what a push asks the engine before its bundle loads (src/cli/early.ts), kept out of dist/cli.cjs,
  // which every command loads
  cjsBundle('early', 'src/cli/early.ts'),
  // dist/complete.cjs: shell completion (`docker-sign __complete …`, src/cli/complete.ts), no oclif at run time
  cjsBundle('complete', 'src/cli/complete.ts'),
  ...FAST_COMMANDS.map((c) => build({
    ...common,
    format: 'cjs',
    banner: undefined,
    // import() of external packages and builtins becomes a require() (a vm.Script has no module loader)
    supported: { 'dynamic-import': false },
    entryPoints: { [`fast/${c}`]: `src/cli/fast/${c}.ts` },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
    splitting: false,
    // push, generate (and sign of a local image) read a docker save stream: tar-stream is part of their bundle
    external: [...external, '@oclif/core', 'dockerode', 'cli-progress', '@peculiar/x509', 'pkijs', 'reflect-metadata',
      ...(c === 'push' || c === 'sign' || c === 'generate' ? [] : ['tar-stream'])],
  })),
]);

// The fast bundles run as vm.Script (src/cli/codecache.ts), which has no loader for import(): none may remain.
for (const c of FAST_COMMANDS) {
  const code = readFileSync(new URL(`../dist/fast/${c}.cjs`, import.meta.url), 'utf8');
  const m = /\bimport\(/.exec(code);
  if (m) throw new Error(`dist/fast/${c}.cjs contains import() at offset ${m.index}: use a static import or process.getBuiltinModule`);
}

// dist/completion.json: the command table for shell completion, from the oclif commands (ids, summaries, flags with
// their value options, argument names) and the topics of package.json.
{
  const { COMMANDS } = await import(new URL('../dist/commands/index.js', import.meta.url).href);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const table = { commands: {}, topics: {} };
  for (const [id, cmd] of Object.entries(COMMANDS)) {
    const flags = { ...(cmd.baseFlags ?? {}), ...(cmd.flags ?? {}) };
    table.commands[id] = {
      summary: cmd.summary ?? (cmd.description ?? '').split('\n')[0],
      flags: Object.entries(flags).filter(([, f]) => !f.hidden).map(([name, f]) => ({
        name,
        ...(f.char ? { char: f.char } : {}),
        ...(f.summary ?? f.description ? { description: (f.summary ?? f.description).split('\n')[0] } : {}),
        value: f.type === 'option',
        ...(Array.isArray(f.options) ? { options: f.options } : {}),
      })),
      args: Object.keys(cmd.args ?? {}),
    };
  }
  for (const [id, t] of Object.entries(pkg.oclif?.topics ?? {})) table.topics[id.replace(/ /g, ':')] = t.description;
  writeFileSync(new URL('../dist/completion.json', import.meta.url), JSON.stringify(table));
}
