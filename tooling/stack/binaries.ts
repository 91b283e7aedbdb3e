import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { BuildProgress, isCompiledPackage, plannedCompiles, stderrOrLog } from './build-progress';

const run = promisify(execFile);

/** Pinned releases: later Temporal CLI releases carry a `replace` directive that `go install` refuses. */
export const TEMPORAL_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const NATS_MODULE = 'github.com/nats-io/nats-server/v2@v2.12.2';
/** JetStream's `sync_interval` arrived in 2.10; 2.12 is the oldest line we test against. */
const NATS_MIN = [2, 12];

export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError';
}

async function which(cmd: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${cmd}`]);
    const found = stdout.trim();
    return found || undefined;
  } catch {
    return undefined;
  }
}

async function natsVersionOk(bin: string): Promise<boolean> {
  try {
    const { stdout } = await run(bin, ['--version']);
    const m = /v(\d+)\.(\d+)/.exec(stdout);
    if (!m) return false;
    const [maj, min] = [Number(m[1]), Number(m[2])];
    return maj > NATS_MIN[0]! || (maj === NATS_MIN[0] && min >= NATS_MIN[1]!);
  } catch {
    return false;
  }
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * One build of a module at a time per cache folder: two stacks started together (or a test run beside
 * a demo) would otherwise each compile the same release for minutes on the same cores.
 */
async function underBuildLock(
  binDir: string,
  name: string,
  built: () => boolean,
  log: (line: string) => void,
  build: () => Promise<void>,
): Promise<void> {
  const lock = path.join(binDir, `.${name}.building`);
  for (let announced = false; ;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lock, 'utf8')) || 0;
      if (!pidAlive(holder)) {
        rmSync(lock, { force: true }); // left by a build that died
        continue;
      }
      if (!announced) log(`waiting for process ${holder}, which is building ${name}…`);
      announced = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    if (!built()) await build();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** `…/cli/cmd/temporal@v1.5.1` → `temporal`; `…/nats-server/v2@v2.12.2` → `nats-server`. */
const binaryName = (module: string) =>
  module
    .replace(/@.*/, '')
    .replace(/\/v\d+$/, '')
    .split('/')
    .pop()!;

async function buildOnce(
  module: string,
  binDir: string,
  log: (line: string) => void,
  built: () => boolean,
): Promise<void> {
  mkdirSync(binDir, { recursive: true });
  await underBuildLock(binDir, binaryName(module), built, log, () => goBuild(module, binDir, log));
}

async function goBuild(module: string, binDir: string, log: (line: string) => void): Promise<void> {
  const go =
    (await which('go')) ??
    (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new MissingBinaryError(
      `cannot build ${module}: Go is not installed. Install Go (https://go.dev/doc/install) or put the binary on PATH ` +
        `(Temporal CLI: https://docs.temporal.io/cli#install; nats-server: https://docs.nats.io/running-a-nats-service/introduction/installation).`,
    );
  }
  log(`building ${module} into ${binDir} (first time only; this takes a few minutes)…`);
  const env = { ...process.env, GOBIN: binDir, GOFLAGS: '-mod=mod' };
  const progress = new BuildProgress(binaryName(module), stderrOrLog(log));
  const ticker = setInterval(() => progress.tick(), 1000);
  let built = false;
  try {
    progress.compilingStarts(await plannedPackages(go, module, env));
    await goInstall(go, module, env, () => progress.packageCompiled());
    built = true;
  } finally {
    clearInterval(ticker);
    progress.finish(built);
  }
}

/**
 * How many packages installing `module` compiles, from a dry run (`go install -n`, which fetches the
 * modules too). Undefined when it fails: the install then says why.
 */
async function plannedPackages(
  go: string,
  module: string,
  env: NodeJS.ProcessEnv,
): Promise<number | undefined> {
  try {
    const { stdout, stderr } = await run(go, ['install', '-n', module], {
      env,
      maxBuffer: 256 * 1024 * 1024,
    });
    return plannedCompiles(`${stdout}\n${stderr}`);
  } catch {
    return undefined;
  }
}

/** `go install -v module`, calling `compiled` for each package it compiles; fails with Go's messages. */
function goInstall(
  go: string,
  module: string,
  env: NodeJS.ProcessEnv,
  compiled: () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['install', '-v', module], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const messages: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (isCompiledPackage(line)) compiled();
      else messages.push(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new MissingBinaryError(`go install ${module} failed:\n${messages.join('\n').trim()}`),
        );
    });
  });
}

/** The Temporal CLI: from PATH, else from the cache, else built once into the cache. */
export async function temporalBinary(binDir: string, log: (line: string) => void): Promise<string> {
  const onPath = await which('temporal');
  if (onPath) return onPath;
  const cached = path.join(binDir, 'temporal');
  if (!existsSync(cached)) await buildOnce(TEMPORAL_MODULE, binDir, log, () => existsSync(cached));
  return cached;
}

/** nats-server 2.12+: from PATH if recent enough (Debian's is not), else from the cache, else built. */
export async function natsBinary(binDir: string, log: (line: string) => void): Promise<string> {
  const onPath = await which('nats-server');
  if (onPath && (await natsVersionOk(onPath))) return onPath;
  const cached = path.join(binDir, 'nats-server');
  if (!existsSync(cached) || !(await natsVersionOk(cached))) {
    // An old binary may sit there: only one made after we started counts as built by another.
    const since = Date.now();
    await buildOnce(
      NATS_MODULE,
      binDir,
      log,
      () => existsSync(cached) && statSync(cached).mtimeMs > since,
    );
  }
  return cached;
}

/** Debian's PostgreSQL server binaries, newest major first. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const candidates = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = candidates[0];
  if (!newest) {
    throw new MissingBinaryError(
      'PostgreSQL server binaries not found under /usr/lib/postgresql: install them (apt-get install postgresql) or set DATABASE_URL',
    );
  }
  return path.join(root, newest, 'bin');
}
