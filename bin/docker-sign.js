#!/usr/bin/env node
// Docker CLI plug-in `docker sign` (also runnable as `docker-sign`). The metadata answer must stay cheap:
// docker asks for it on every `docker --help` / `docker info`, so it is printed before anything is loaded.
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(JSON.stringify({
    SchemaVersion: '0.1.0',
    Vendor: 'docker-sign',
    Version: pkg.version,
    ShortDescription: 'Sign, push and verify images with Notary Project signatures',
    URL: 'https://github.com/docker-sign/docker-sign',
  }) + '\n');
} else {
  const { main } = await import('../dist/cli.js');
  await main('sign', argv);
}
