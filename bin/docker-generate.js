#!/usr/bin/env node
// Docker CLI plug-in `docker generate`: `docker generate manifest IMAGE` builds the OCI manifest of a local image.
// CommonJS (bin/package.json): an ES module entry costs ~4 ms of loader start-up on every run, metadata included.
'use strict';
const { readFileSync, writeSync } = require('node:fs');

// The answers below are one short line each: written straight to fd 1, without building process.stdout (~3 ms).
function answer(line) {
  try {
    writeSync(1, line);
  } catch (e) {
    if (e.code === 'EAGAIN') process.stdout.write(line); // a non-blocking pipe that is full: let node wait
    // EPIPE: nobody is reading any more
  }
}
const { join } = require('node:path');

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  answer(JSON.stringify({
    SchemaVersion: '0.1.0',
    Vendor: 'docker-sign',
    Version: pkg.version,
    ShortDescription: 'Generate the OCI manifest of a local image (digest known before push)',
    URL: 'https://github.com/docker-sign/docker-sign',
  }) + '\n');
} else {
  // main() reports every error itself; anything escaping it is a bug: one line, exit 70 (stack with DOCKER_SIGN_DEBUG)
  require('../dist/cli.cjs').main('generate', argv).catch((e) => {
    process.stderr.write(`Error: internal error: ${e?.message ?? e}\n${process.env.DOCKER_SIGN_DEBUG ? `${e?.stack ?? ''}\n` : ''}`);
    process.exitCode = 70;
  });
}
