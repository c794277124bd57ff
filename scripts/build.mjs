// Builds dist/ with esbuild: one ESM bundle per entry with code splitting, so a command loads only the
// chunks it imports (heavy modules are imported lazily inside commands). Type checking is `npm run typecheck`.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: {
    cli: 'src/cli.ts',
    'commands/index': 'src/commands/index.ts',
    guard: 'plugins/guard/main.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Native or optional modules stay external (resolved from node_modules at run time).
  // typescript: @oclif/core require()s it only to read tsconfig.json in development mode; bundled it was 9 MB of
  // the CLI chunk and cost ~120 ms of parse on every start (`docker sign --help` 230 ms -> 110 ms with it external).
  external: ['cpu-features', 'ssh2', 'cbor-extract', '*.node', 'typescript'],
  banner: {
    js: "import { createRequire as __dsCreateRequire } from 'node:module'; const require = __dsCreateRequire(import.meta.url);",
  },
  chunkNames: 'chunks/[name]-[hash]',
});
