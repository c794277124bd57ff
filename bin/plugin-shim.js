// What both Docker CLI plug-in entries (bin/docker-sign.js, bin/docker-generate.js) do before anything else is
// loaded: answer docker's short questions, or hand the run to dist/cli.cjs. CommonJS (bin/package.json).
'use strict';
const { readFileSync, writeSync } = require('node:fs');
const { join } = require('node:path');

/** One short line to fd 1, without building process.stdout (~3 ms). */
function answer(line) {
  try {
    writeSync(1, line);
  } catch (e) {
    if (e.code === 'EAGAIN') process.stdout.write(line); // a non-blocking pipe that is full: let node wait
    // EPIPE: nobody is reading any more
  }
}

/** The plug-ins' one-line descriptions (docker lists them in `docker --help`). */
const DESCRIPTIONS = {
  sign: 'Sign, push and verify images with Notary Project signatures',
  generate: 'Generate the OCI manifest of a local image (digest known before push)',
};

/**
 * The `docker-cli-plugin-metadata` answer of plug-in `name` (one JSON line). The shims `docker sign install` writes
 * give the same answer without starting node (plugins/cli/install.ts), from this function's output.
 */
function metadataLine(name, version) {
  return JSON.stringify({
    SchemaVersion: '0.1.0',
    Vendor: 'docker-sign',
    Version: version,
    ShortDescription: DESCRIPTIONS[name],
    URL: 'https://github.com/docker-sign/docker-sign',
  }) + '\n';
}

/** Answers `docker-cli-plugin-metadata` (docker asks on every `docker --help`, `docker info`, plug-in run). */
function metadata(name) {
  answer(metadataLine(name, JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version));
}

/** Runs the CLI. main() reports every error itself; anything escaping it is a bug: one line, exit 70 (stack with DOCKER_SIGN_DEBUG). */
function run(name, argv) {
  require('../dist/cli.cjs').main(name, argv).catch((e) => {
    process.stderr.write(`Error: internal error: ${e?.message ?? e}\n${process.env.DOCKER_SIGN_DEBUG ? `${e?.stack ?? ''}\n` : ''}`);
    process.exitCode = 70;
  });
}

/**
 * Shell completion: docker completes a plug-in's words by running `docker-<name> __complete <name> WORD…` and passes
 * the answer (cobra's protocol) to the shell. Without oclif: dist/complete.cjs and the table built into
 * dist/completion.json.
 */
function completion(argv) {
  require('../dist/complete.cjs').run(argv, join(__dirname, '..', 'dist', 'completion.json'));
}

module.exports = { answer, completion, metadata, metadataLine, run };
