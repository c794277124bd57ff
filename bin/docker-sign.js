#!/usr/bin/env node
// Docker CLI plug-in `docker sign` (also runnable as `docker-sign`). The metadata and hook answers must stay
// cheap: docker asks for metadata on every `docker --help` / `docker info` / plug-in run, and waits for hooks,
// so both are answered here before anything else is loaded.
// CommonJS (bin/package.json): an ES module entry costs ~4 ms of loader start-up on every run, metadata included.
'use strict';
const { answer, completion, metadata, run } = require('./plugin-shim.js');

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  metadata('sign');
} else if (argv[0] === 'docker-cli-plugin-hooks' || (argv[0] === 'sign' && argv[1] === 'docker-cli-plugin-hooks')) {
  // CLI hooks (opt-in: `docker sign install --hooks`): a "What's next" hint after docker push / pull.
  // docker renders the template; {{arg . 0}} is the image the user named. Hooks cannot block anything.
  let req = {};
  try {
    req = JSON.parse(argv[argv.indexOf('docker-cli-plugin-hooks') + 1] ?? '{}');
  } catch {
    req = {};
  }
  const hints = {
    push: 'Sign it: docker sign {{arg . 0}}',
    pull: 'Verify its signature: docker sign verify {{arg . 0}}',
  };
  const t = req && !req.CommandError ? hints[req.RootCmd] : undefined;
  if (t) answer(JSON.stringify({ Type: 0, Template: t }) + '\n');
} else if (argv[0] === '__complete') {
  completion(argv);
} else {
  run('sign', argv);
}
