#!/usr/bin/env node
'use strict';
// The compiled CLI; `npm install` builds it (the package's prepare script).
require('../dist/src/cli/main.js');
