import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/platform/config';
import { waitFor } from '../../src/platform/wait';
import { natsBinary, temporalBinary } from './binaries';
import { natsAnswers, natsPaths, writeNatsConfig } from './nats';
import {
  ensureLocalRoles,
  postgresAnswers,
  postgresPaths,
  postgresPid,
  startPostgres,
  stopPostgres,
} from './postgres';
import { commandLine, isAlive, portAnswers, spawnDetached, tailFile } from './process';
import { temporalAnswers, temporalArgs, temporalPaths } from './temporal';

export type ServerName = 'temporal' | 'nats' | 'postgres';

export interface ServerStatus {
  name: ServerName;
  address: string;
  pid: number | null;
  running: boolean;
  /** False when the server is not ours to start or stop (e.g. DATABASE_URL points elsewhere). */
  managed: boolean;
  log: string | null;
  ui?: string;
}

interface StackState {
  pids: Partial<Record<ServerName, number>>;
}

function statePath(config: Config): string {
  return path.join(config.stack.dir, 'stack.json');
}

function readState(config: Config): StackState {
  try {
    return JSON.parse(readFileSync(statePath(config), 'utf8')) as StackState;
  } catch {
    return { pids: {} };
  }
}

function writeState(config: Config, state: StackState): void {
  writeFileSync(statePath(config), JSON.stringify(state, null, 2));
}

/** A pid from our state file counts only if the process still runs from our data folder. */
function ourPid(config: Config, name: ServerName, state: StackState): number | undefined {
  if (name === 'postgres') return postgresPid(config.stack.dir);
  const pid = state.pids[name];
  if (pid === undefined || !isAlive(pid)) return undefined;
  return commandLine(pid).includes(config.stack.dir) ? pid : undefined;
}

async function ensurePortFree(port: number, name: string): Promise<void> {
  if (await portAnswers(port)) {
    throw new Error(
      `port ${port} for ${name} is taken by a process this stack did not start; stop it or set SHIPSHAPE_PORT_OFFSET`,
    );
  }
}

/** Starts whatever is not yet running and returns once every server answers. Safe to call again. */
export async function stackUp(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<ServerStatus[]> {
  mkdirSync(config.stack.dir, { recursive: true });
  // Made before any server starts: NATS accounts and PostgreSQL roles are created with them.
  ensureLocalSecrets(config.stack.dir);
  const state = readState(config);
  const { ports } = config.stack;

  // Binaries may need building first; build one after the other (2 cores), then start all three at once.
  const natsBin = await natsBinary(config.stack.binCacheDir, log);
  const temporalBin = await temporalBinary(config.stack.binCacheDir, log);

  const startNats = async () => {
    if (ourPid(config, 'nats', state) !== undefined && (await natsAnswers(ports.natsMonitor)))
      return;
    await ensurePortFree(ports.nats, 'NATS');
    const p = writeNatsConfig(config.stack.dir, ports.nats, ports.natsMonitor);
    log(`starting nats-server on 127.0.0.1:${ports.nats}`);
    state.pids.nats = spawnDetached(
      natsBin,
      ['-c', p.configFile, '-l', p.logFile],
      p.logFile,
      p.dir,
    );
    writeState(config, state);
    await waitUp('NATS', () => natsAnswers(ports.natsMonitor), state.pids.nats, p.logFile);
  };

  const startTemporal = async () => {
    if (
      ourPid(config, 'temporal', state) !== undefined &&
      (await temporalAnswers(config.temporal.address, config.temporal.namespace))
    )
      return;
    await ensurePortFree(ports.temporal, 'Temporal');
    const p = temporalPaths(config.stack.dir);
    log(`starting Temporal dev server on ${config.temporal.address} (UI ${config.temporal.uiUrl})`);
    state.pids.temporal = spawnDetached(
      temporalBin,
      temporalArgs(config.stack.dir, ports, config.temporal.namespace),
      p.logFile,
      p.dir,
    );
    writeState(config, state);
    await waitUp(
      'Temporal',
      () => temporalAnswers(config.temporal.address, config.temporal.namespace),
      state.pids.temporal,
      p.logFile,
      120_000,
    );
  };

  const startPg = async () => {
    if (!config.stack.managesPostgres) return;
    if (postgresPid(config.stack.dir) !== undefined && (await postgresAnswers(ports.postgres))) {
      // Already running: its roles still get each process's password (a stack from an older build).
      await ensureLocalRoles(config.stack.dir, ports.postgres);
      return;
    }
    await ensurePortFree(ports.postgres, 'PostgreSQL');
    log(`starting PostgreSQL on 127.0.0.1:${ports.postgres}`);
    await startPostgres(config.stack.dir, ports.postgres, log);
  };

  await Promise.all([startNats(), startTemporal(), startPg()]);
  return stackStatus(config);
}

async function waitUp(
  name: string,
  answers: () => Promise<boolean>,
  pid: number,
  logFile: string,
  timeoutMs = 60_000,
): Promise<void> {
  try {
    await waitFor(
      `${name} to answer`,
      async () => {
        if (!isAlive(pid)) throw new Error(`${name} exited`);
        return answers();
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    throw new Error(
      `${name} failed to start: ${(err as Error).message}\n--- ${logFile} (tail) ---\n${tailFile(logFile)}`,
      { cause: err },
    );
  }
}

async function stopOurServer(
  config: Config,
  name: 'temporal' | 'nats',
  state: StackState,
  log: (line: string) => void,
): Promise<void> {
  const pid = ourPid(config, name, state);
  if (pid === undefined) return;
  log(`stopping ${name} (pid ${pid})`);
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`${name} to exit`, () => !isAlive(pid), { timeoutMs: 20_000 });
  } catch {
    process.kill(pid, 'SIGKILL');
    await waitFor(`${name} to die`, () => !isAlive(pid), { timeoutMs: 5_000 });
  }
  delete state.pids[name];
}

/**
 * Stops this stack's Temporal server, if it runs, and deletes its database: the next `stackUp` starts
 * it empty. For the benchmark, whose runs must not inherit earlier runs' closed workflows.
 */
export async function discardTemporalData(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const state = readState(config);
  await stopOurServer(config, 'temporal', state, log);
  if (existsSync(config.stack.dir)) writeState(config, state);
  rmSync(temporalPaths(config.stack.dir).dir, { recursive: true, force: true });
}

/** Stops only the servers this stack started (pids from our state file whose command line names our folder). */
export async function stackDown(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const state = readState(config);
  for (const name of ['temporal', 'nats'] as const) await stopOurServer(config, name, state, log);
  if (config.stack.managesPostgres && postgresPid(config.stack.dir) !== undefined) {
    log('stopping PostgreSQL');
    await stopPostgres(config.stack.dir);
  }
  if (existsSync(config.stack.dir)) writeState(config, state);
}

export async function stackStatus(config: Config): Promise<ServerStatus[]> {
  const state = readState(config);
  const { ports } = config.stack;
  const natsPid = ourPid(config, 'nats', state) ?? null;
  const temporalPid = ourPid(config, 'temporal', state) ?? null;
  const pgPid = config.stack.managesPostgres ? (postgresPid(config.stack.dir) ?? null) : null;
  return [
    {
      name: 'temporal',
      address: config.temporal.address,
      pid: temporalPid,
      running:
        temporalPid !== null &&
        (await temporalAnswers(config.temporal.address, config.temporal.namespace)),
      managed: true,
      log: temporalPaths(config.stack.dir).logFile,
      ui: config.temporal.uiUrl,
    },
    {
      name: 'nats',
      address: config.nats.servers.join(','),
      pid: natsPid,
      running: natsPid !== null && (await natsAnswers(ports.natsMonitor)),
      managed: true,
      log: natsPaths(config.stack.dir).logFile,
    },
    {
      name: 'postgres',
      address: config.stack.managesPostgres
        ? `127.0.0.1:${ports.postgres}`
        : redactUrl(config.database.url),
      pid: pgPid,
      running: config.stack.managesPostgres
        ? pgPid !== null && (await postgresAnswers(ports.postgres))
        : true,
      managed: config.stack.managesPostgres,
      log: config.stack.managesPostgres ? postgresPaths(config.stack.dir).logFile : null,
    },
  ];
}

/** Removes the stack's data folder; only when nothing of ours runs. */
export async function stackReset(config: Config): Promise<void> {
  if ((await stackStatus(config)).some((s) => s.managed && s.pid !== null)) {
    throw new Error('the stack is running; run `shipshape stack down` first');
  }
  rmSync(config.stack.dir, { recursive: true, force: true });
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
