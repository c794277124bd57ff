#!/usr/bin/env node
// Docker CLI plug-in `docker generate`: `docker generate manifest IMAGE` builds the OCI manifest of a local image.
// process.getBuiltinModule, not `import … from 'node:fs'`: the ESM wrapper of node:fs touches every export (loading
// fs streams, ~1.5 ms) on every run, metadata included.
const { readFileSync } = process.getBuiltinModule('node:fs');

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(JSON.stringify({
    SchemaVersion: '0.1.0',
    Vendor: 'docker-sign',
    Version: pkg.version,
    ShortDescription: 'Generate the OCI manifest of a local image (digest known before push)',
    URL: 'https://github.com/docker-sign/docker-sign',
  }) + '\n');
} else {
  const { main } = await import('../dist/cli.js');
  await main('generate', argv);
}
