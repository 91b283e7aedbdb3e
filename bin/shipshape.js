#!/usr/bin/env node
'use strict';
// The compiled CLI, with the local stack's commands; `npm install` builds it (the package's prepare
// script). dist/src/cli/main.js is the product's commands alone.
require('../dist/tooling/cli/main.js');
