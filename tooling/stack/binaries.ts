import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { BuildProgress, isCompiledPackage, plannedCompiles, stderrOrLog } from './build-progress';

const run = promisify(execFile);

/**
 * Pinned releases. The Temporal CLI (the dev server) stays at 1.5.1: every later release carries a
 * `replace` directive that `go install` refuses.
 */
export const TEMPORAL_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const NATS_VERSION = '2.15.3';
export const NATS_MODULE = `github.com/nats-io/nats-server/v2@v${NATS_VERSION}`;
/** JetStream's `sync_interval` arrived in 2.10; 2.12 is the oldest line we accept on PATH. */
const NATS_MIN = [2, 12];
/**
 * The Temporal server of the local cluster (`stack up --temporal cluster`) and of docker-compose.yml's
 * images: the newest release. It wants Go 1.26.10 or later, hence GO_TOOLCHAIN.
 */
export const TEMPORAL_SERVER_VERSION = '1.32.2';
/**
 * The Temporal UI server beside the cluster: the newest release. Its go.mod wants go.temporal.io/api
 * v1.64.0, which the module proxy does not serve, so it is built in a module of our own that requires
 * TEMPORAL_UI_REQUIRES instead (a later patch release of the same API).
 */
export const TEMPORAL_UI_VERSION = '2.58.1';
const TEMPORAL_UI_REQUIRES = ['go.temporal.io/api@v1.64.3'];
/**
 * The Go every build uses, fetched by the go command from the module proxy on first use (the machine's
 * own Go may be older than the server needs). A GOTOOLCHAIN set by the caller wins.
 */
export const GO_TOOLCHAIN = 'go1.27.3';

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

/** A Go package to install, and the name its binary gets in the cache. */
interface GoBinary {
  /** Package path with its version, e.g. `go.temporal.io/server/cmd/server@v1.32.2`. */
  pkg: string;
  /** File name in the cache: `go install` names a binary after its folder (`server`, `sql`), which would clash. */
  as: string;
}

/**
 * Modules (`path@version`) the build requires beyond what the packages' own go.mod say. `go install
 * pkg@version` builds with exactly those; with `requires`, the packages are built in a throwaway
 * module of ours that requires them and these, so a dependency the proxy does not serve can be
 * replaced by a later release of it.
 */
type Requires = readonly string[];

/**
 * Builds `binaries` with one `go install` into a fresh folder beside the cache, then moves each into
 * place under its own name: a binary appears whole or not at all, and never over one that runs.
 */
async function goInstall(
  label: string,
  binaries: GoBinary[],
  binDir: string,
  log: (line: string) => void,
  built: () => boolean,
  requires: Requires = [],
): Promise<void> {
  mkdirSync(binDir, { recursive: true });
  await underBuildLock(binDir, label, built, log, async () => {
    const gobin = mkdtempSync(path.join(binDir, `.gobin-${label}-`));
    try {
      await goBuild(label, binaries, gobin, log, requires);
      for (const b of binaries)
        renameSync(path.join(gobin, goBinaryName(b.pkg)), path.join(binDir, b.as));
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  });
}

/** What `go install` names a package's binary: its last path element, skipping a major-version suffix (`/v2`). */
function goBinaryName(pkg: string): string {
  const parts = pkg.replace(/@.*/, '').split('/');
  const last = parts.pop()!;
  return /^v\d+$/.test(last) ? parts.pop()! : last;
}

async function goBuild(
  label: string,
  binaries: GoBinary[],
  gobin: string,
  log: (line: string) => void,
  requires: Requires,
): Promise<void> {
  const go =
    (await which('go')) ??
    (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  const pkgs = binaries.map((b) => b.pkg);
  if (!go) {
    throw new MissingBinaryError(
      `cannot build ${pkgs.join(' ')}: Go is not installed. Install Go (https://go.dev/doc/install) or put the binary on PATH ` +
        `(Temporal CLI: https://docs.temporal.io/cli#install; nats-server: https://docs.nats.io/running-a-nats-service/introduction/installation).`,
    );
  }
  log(`building ${pkgs.join(' ')} (first time only; this takes a few minutes)…`);
  const env = {
    ...process.env,
    GOBIN: gobin,
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: process.env.GOTOOLCHAIN || GO_TOOLCHAIN,
  };
  const progress = new BuildProgress(label, stderrOrLog(log));
  const ticker = setInterval(() => progress.tick(), 1000);
  let built = false;
  const cwd = requires.length ? mkdtempSync(path.join(gobin, '.module-')) : undefined;
  try {
    let install = pkgs;
    if (cwd) {
      writeFileSync(path.join(cwd, 'go.mod'), 'module shipshape.local/build\n\ngo 1.26\n');
      await run(go, ['get', ...pkgs, ...requires], { cwd, env, maxBuffer: 64 * 1024 * 1024 });
      install = pkgs.map((p) => p.replace(/@.*/, ''));
    }
    progress.compilingStarts(await plannedPackages(go, install, env, cwd));
    await goInstallVerbose(go, install, env, cwd, () => progress.packageCompiled());
    built = true;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr;
    throw stderr ? new MissingBinaryError(`go get ${pkgs.join(' ')} failed:\n${stderr}`) : err;
  } finally {
    clearInterval(ticker);
    progress.finish(built);
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * How many packages installing `pkgs` compiles, from a dry run (`go install -n`, which fetches the
 * modules too). Undefined when it fails: the install then says why.
 */
async function plannedPackages(
  go: string,
  pkgs: string[],
  env: NodeJS.ProcessEnv,
  cwd: string | undefined,
): Promise<number | undefined> {
  try {
    const { stdout, stderr } = await run(go, ['install', '-n', ...pkgs], {
      cwd,
      env,
      maxBuffer: 256 * 1024 * 1024,
    });
    return plannedCompiles(`${stdout}\n${stderr}`);
  } catch {
    return undefined;
  }
}

/** `go install -v pkgs…`, calling `compiled` for each package it compiles; fails with Go's messages. */
function goInstallVerbose(
  go: string,
  pkgs: string[],
  env: NodeJS.ProcessEnv,
  cwd: string | undefined,
  compiled: () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['install', '-v', ...pkgs], {
      cwd,
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
          new MissingBinaryError(
            `go install ${pkgs.join(' ')} failed:\n${messages.join('\n').trim()}`,
          ),
        );
    });
  });
}

/** The Temporal CLI: from PATH, else from the cache, else built once into the cache. */
export async function temporalBinary(binDir: string, log: (line: string) => void): Promise<string> {
  const onPath = await which('temporal');
  if (onPath) return onPath;
  const cached = path.join(binDir, 'temporal');
  if (!existsSync(cached))
    await goInstall('temporal', [{ pkg: TEMPORAL_MODULE, as: 'temporal' }], binDir, log, () =>
      existsSync(cached),
    );
  return cached;
}

/**
 * nats-server 2.12+ from PATH if there is one (Debian's is older), else the pinned release from the
 * cache, built once. Cached binaries carry their release in their name, so checkouts pinned to
 * different releases share the cache without replacing each other's.
 */
export async function natsBinary(binDir: string, log: (line: string) => void): Promise<string> {
  const onPath = await which('nats-server');
  if (onPath && (await natsVersionOk(onPath))) return onPath;
  const name = `nats-server-${NATS_VERSION}`;
  const cached = path.join(binDir, name);
  if (!existsSync(cached))
    await goInstall(name, [{ pkg: NATS_MODULE, as: name }], binDir, log, () => existsSync(cached));
  return cached;
}

export interface TemporalServerBinaries {
  /** `temporal-server`: every role of a Temporal cluster node. */
  server: string;
  /** `temporal-sql-tool`: creates and upgrades the server's schemas (they are built into it). */
  sqlTool: string;
}

/** The Temporal server and its schema tool at TEMPORAL_SERVER_VERSION, built once (together) into the cache. */
export async function temporalServerBinaries(
  binDir: string,
  log: (line: string) => void,
): Promise<TemporalServerBinaries> {
  const v = TEMPORAL_SERVER_VERSION;
  const server = path.join(binDir, `temporal-server-${v}`);
  const sqlTool = path.join(binDir, `temporal-sql-tool-${v}`);
  const built = () => existsSync(server) && existsSync(sqlTool);
  if (!built())
    await goInstall(
      `temporal-server-${v}`,
      [
        { pkg: `go.temporal.io/server/cmd/server@v${v}`, as: path.basename(server) },
        { pkg: `go.temporal.io/server/cmd/tools/sql@v${v}`, as: path.basename(sqlTool) },
      ],
      binDir,
      log,
      built,
    );
  return { server, sqlTool };
}

/** The Temporal UI server at TEMPORAL_UI_VERSION (its web assets are built into it), built once into the cache. */
export async function temporalUiBinary(
  binDir: string,
  log: (line: string) => void,
): Promise<string> {
  const name = `temporal-ui-server-${TEMPORAL_UI_VERSION}`;
  const cached = path.join(binDir, name);
  if (!existsSync(cached))
    await goInstall(
      name,
      [{ pkg: `github.com/temporalio/ui-server/v2/cmd/server@v${TEMPORAL_UI_VERSION}`, as: name }],
      binDir,
      log,
      () => existsSync(cached),
      TEMPORAL_UI_REQUIRES,
    );
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
