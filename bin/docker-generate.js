#!/usr/bin/env node
// Docker CLI plug-in `docker generate`: `docker generate manifest IMAGE` builds the OCI manifest of a local image.
// CommonJS (bin/package.json): an ES module entry costs ~4 ms of loader start-up on every run, metadata included.
'use strict';
const { completion, metadata, run } = require('./plugin-shim.js');

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') metadata('generate');
else if (argv[0] === '__complete') completion(argv);
else run('generate', argv);
