import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import {
  localTlsDir,
  STACK_STATE_FILE,
  temporalClientFiles,
} from '../../src/platform/security/local-certificates';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config, TemporalMode } from '../../src/platform/config';
import { waitFor } from '../../src/platform/wait';
import { natsBinary, temporalBinary, temporalServerBinaries, temporalUiBinary } from './binaries';
import { natsAnswers, natsPaths, writeNatsConfig } from './nats';
import {
  ensureLocalRoles,
  postgresAnswers,
  postgresPaths,
  postgresPid,
  startPostgres,
  stopPostgres,
} from './postgres';
import { commandLine, isAlive, portAnswers, spawnDetached, stopPid, tailFile } from './process';
import { temporalAnswers, temporalArgs, temporalPaths } from './temporal';
import { TemporalCluster } from './temporal-cluster';
import { startTemporalUi, stopTemporalUi, temporalUiPaths, temporalUiPid } from './temporal-ui';
import { runBehind } from '../../src/processes/priority';
import { CLUSTER_NODES } from './temporal-node';
import { withDynamicConfig } from './dynamic-config';
import type { DynamicConfigValues } from './dynamic-config';
import { startUiGate, stopUiGate, uiGateLogFile, uiGatePid } from './ui-gate';

/**
 * The stack's servers. With `--temporal cluster`, `temporal` is the address clients use (the
 * forwarder in front of the nodes), `temporal-1`, `temporal-2` the nodes, `temporal-ui` the UI server
 * and `ui-gate` the gate in front of it, where people open the UI.
 */
export type ServerName =
  'temporal' | `temporal-${number}` | 'temporal-ui' | 'ui-gate' | 'nats' | 'postgres';

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
  pids: Partial<Record<'temporal' | 'nats', number>>;
  /** How Temporal was last started, for `status` once it is down. */
  temporal?: TemporalMode;
}

/** `stack up` asked for one Temporal mode while the stack runs the other. */
export class TemporalModeConflictError extends Error {
  override name = 'TemporalModeConflictError';
}

const MODE_NAMES: Record<TemporalMode, string> = {
  dev: 'the Temporal dev server',
  cluster: 'a Temporal cluster',
};

/** The stack's Temporal cluster (`--temporal cluster`): its folder, ports and databases. */
export function stackTemporalCluster(
  config: Config,
  log: (line: string) => void = () => undefined,
  dynamicConfigFile?: string,
): TemporalCluster {
  return new TemporalCluster({
    dir: path.join(config.stack.dir, 'temporal-cluster'),
    basePort: config.stack.ports.temporalCluster,
    // The forwarder takes the dev server's port, so TEMPORAL_ADDRESS is the same in both modes.
    frontendPort: config.stack.ports.temporal,
    binCacheDir: config.stack.binCacheDir,
    tlsDir: localTlsDir(config.stack.dir),
    postgres: { stackDir: config.stack.dir, port: config.stack.ports.postgres },
    database: 'temporal',
    namespace: config.temporal.namespace,
    ...(dynamicConfigFile ? { dynamicConfigFile } : {}),
    log,
  });
}

const uiDir = (config: Config) => path.join(config.stack.dir, 'temporal-ui');

/** How this stack's Temporal runs now, if any of it runs. */
function runningTemporalMode(config: Config, state: StackState): TemporalMode | undefined {
  if (ourPid(config, 'temporal', state) !== undefined) return 'dev';
  const cluster = stackTemporalCluster(config);
  const clusterRuns =
    cluster.forwarderPid() !== undefined ||
    cluster.nodes.some((n) => cluster.pidOf(n.index) !== undefined) ||
    temporalUiPid(uiDir(config)) !== undefined ||
    uiGatePid(uiDir(config)) !== undefined;
  return clusterRuns ? 'cluster' : undefined;
}

function statePath(config: Config): string {
  return path.join(config.stack.dir, STACK_STATE_FILE);
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
function ourPid(
  config: Config,
  name: 'temporal' | 'nats' | 'postgres',
  state: StackState,
): number | undefined {
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

export interface StackUpOptions {
  /**
   * Dynamic config Temporal starts with, beside our own (a drill's shorter intervals): the dev
   * server's flags, or the cluster nodes' file (the deployment's, these added). Applies only when this
   * call starts Temporal: a running one keeps its settings.
   */
  temporalDynamicConfig?: DynamicConfigValues;
}

/**
 * Starts whatever is not yet running and returns once every server answers. Safe to call again.
 * Temporal runs as `config.stack.temporal` says; unset, as it runs already, else as the dev server.
 */
export async function stackUp(
  config: Config,
  log: (line: string) => void = () => undefined,
  opts: StackUpOptions = {},
): Promise<ServerStatus[]> {
  mkdirSync(config.stack.dir, { recursive: true });
  // Made before any server starts: NATS accounts and PostgreSQL roles are created with them.
  ensureLocalSecrets(config.stack.dir);
  const state = readState(config);
  const { ports } = config.stack;
  const running = runningTemporalMode(config, state);
  const mode = config.stack.temporal ?? running ?? 'dev';
  if (running && running !== mode)
    throw new TemporalModeConflictError(
      `the stack runs ${MODE_NAMES[running]}; stop it first (\`shipshape stack down\`) to start ${MODE_NAMES[mode]}`,
    );
  if (mode === 'cluster' && !config.stack.managesPostgres)
    throw new TemporalModeConflictError(
      "a Temporal cluster keeps its data in the stack's own PostgreSQL: unset DATABASE_URL to use it",
    );

  // Binaries may need building first; build one after the other (2 cores), then start the servers.
  const natsBin = await natsBinary(config.stack.binCacheDir, log);
  const temporalBin =
    mode === 'dev' ? await temporalBinary(config.stack.binCacheDir, log) : undefined;
  if (mode === 'cluster') {
    await temporalServerBinaries(config.stack.binCacheDir, log);
    await temporalUiBinary(config.stack.binCacheDir, log);
  }
  state.temporal = mode;
  writeState(config, state);

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
      temporalBin!,
      temporalArgs(config.stack.dir, ports, config.temporal.namespace, opts.temporalDynamicConfig),
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

  // The cluster keeps its data in the stack's PostgreSQL, so it starts once PostgreSQL answers.
  const startCluster = async () => {
    await startPg();
    const cluster = stackTemporalCluster(
      config,
      log,
      opts.temporalDynamicConfig &&
        withDynamicConfig(
          path.join(config.stack.dir, 'temporal-dynamicconfig.yaml'),
          opts.temporalDynamicConfig,
        ),
    );
    if (cluster.forwarderPid() === undefined) await ensurePortFree(ports.temporal, 'Temporal');
    await cluster.start();
    if (temporalUiPid(uiDir(config)) === undefined)
      await ensurePortFree(ports.temporalUiServer, 'the Temporal UI server');
    await startTemporalUi({
      dir: uiDir(config),
      binCacheDir: config.stack.binCacheDir,
      port: ports.temporalUiServer,
      temporalAddress: cluster.address,
      namespace: config.temporal.namespace,
      codecEndpoint: `http://127.0.0.1:${ports.codecServer}/codec`,
      tls: temporalClientFiles(localTlsDir(config.stack.dir), 'temporal-ui'),
      log,
    });
    if (uiGatePid(uiDir(config)) === undefined)
      await ensurePortFree(ports.temporalUi, 'the Temporal UI');
    await startUiGate({
      dir: uiDir(config),
      stackDir: config.stack.dir,
      port: ports.temporalUi,
      upstream: `http://127.0.0.1:${ports.temporalUiServer}`,
      log,
    });
  };

  await Promise.all(
    mode === 'dev' ? [startNats(), startTemporal(), startPg()] : [startNats(), startCluster()],
  );
  // Temporal and NATS serve the drain, not the accepting: on one machine they yield the cores to the
  // API and PostgreSQL (SHIPSHAPE_DRAIN_NICENESS; docs/scaling.md says what a deployment does).
  const cluster = mode === 'cluster' ? stackTemporalCluster(config, log) : undefined;
  const drainers = cluster
    ? [...Array.from({ length: CLUSTER_NODES }, (_, i) => cluster.pidOf(i)), cluster.forwarderPid()]
    : [ourPid(config, 'temporal', state)];
  for (const pid of [...drainers, ourPid(config, 'nats', state)])
    runBehind(pid, config.drainNiceness);
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
  await stopPid(pid, name);
  delete state.pids[name];
}

/** Stops this stack's Temporal, dev server or cluster and its UI, whichever runs. */
async function stopTemporal(
  config: Config,
  state: StackState,
  log: (line: string) => void,
): Promise<void> {
  await stopOurServer(config, 'temporal', state, log);
  if (temporalUiPid(uiDir(config)) !== undefined) log('stopping the Temporal UI');
  await stopUiGate(uiDir(config));
  await stopTemporalUi(uiDir(config));
  const cluster = stackTemporalCluster(config);
  if (runningTemporalMode(config, state) === 'cluster') log('stopping the Temporal cluster');
  await cluster.stop();
}

/**
 * Stops this stack's Temporal (dev server or cluster), if it runs, and deletes its data: the next
 * `stackUp` starts it empty (the cluster's databases are dropped then, as its folder is gone). For the
 * benchmark, whose runs must not inherit earlier runs' closed workflows.
 */
export async function discardTemporalData(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const state = readState(config);
  await stopTemporal(config, state, log);
  if (existsSync(config.stack.dir)) writeState(config, state);
  rmSync(temporalPaths(config.stack.dir).dir, { recursive: true, force: true });
  rmSync(path.join(config.stack.dir, 'temporal-cluster'), { recursive: true, force: true });
}

/** Stops only the servers this stack started (pids from our state file whose command line names our folder). */
export async function stackDown(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const state = readState(config);
  await stopTemporal(config, state, log);
  await stopOurServer(config, 'nats', state, log);
  if (config.stack.managesPostgres && postgresPid(config.stack.dir) !== undefined) {
    log('stopping PostgreSQL');
    await stopPostgres(config.stack.dir);
  }
  if (existsSync(config.stack.dir)) writeState(config, state);
}

/** The dev server's row, or the cluster's rows: the forwarder (what clients use), each node, the UI and its gate. */
async function temporalStatus(
  config: Config,
  state: StackState,
  mode: TemporalMode,
): Promise<ServerStatus[]> {
  const answers = (pid: number | null) =>
    pid !== null && temporalAnswers(config.temporal.address, config.temporal.namespace);
  if (mode === 'dev') {
    const pid = ourPid(config, 'temporal', state) ?? null;
    return [
      {
        name: 'temporal',
        address: config.temporal.address,
        pid,
        running: await answers(pid),
        managed: true,
        log: temporalPaths(config.stack.dir).logFile,
        ui: config.temporal.uiUrl,
      },
    ];
  }
  const cluster = stackTemporalCluster(config);
  const forwarder = cluster.forwarderPid() ?? null;
  const ui = temporalUiPid(uiDir(config)) ?? null;
  const gate = uiGatePid(uiDir(config)) ?? null;
  return [
    {
      name: 'temporal',
      address: cluster.address,
      pid: forwarder,
      running: forwarder !== null && (await cluster.answers()),
      managed: true,
      log: cluster.forwarderLogFile,
      ui: config.temporal.uiUrl,
    },
    ...(await Promise.all(
      cluster.nodes.map(async (node): Promise<ServerStatus> => {
        const pid = cluster.pidOf(node.index) ?? null;
        return {
          name: node.name,
          address: node.address,
          pid,
          running: pid !== null && (await cluster.nodeAnswers(node.index)),
          managed: true,
          log: node.logFile,
        };
      }),
    )),
    {
      name: 'temporal-ui',
      address: `http://127.0.0.1:${config.stack.ports.temporalUiServer}`,
      pid: ui,
      running: ui !== null && (await portAnswers(config.stack.ports.temporalUiServer)),
      managed: true,
      log: temporalUiPaths(uiDir(config)).logFile,
    },
    {
      name: 'ui-gate',
      address: config.temporal.uiUrl,
      pid: gate,
      running: gate !== null && (await portAnswers(config.stack.ports.temporalUi)),
      managed: true,
      log: uiGateLogFile(uiDir(config)),
    },
  ];
}

export async function stackStatus(config: Config): Promise<ServerStatus[]> {
  const state = readState(config);
  const { ports } = config.stack;
  const natsPid = ourPid(config, 'nats', state) ?? null;
  const pgPid = config.stack.managesPostgres ? (postgresPid(config.stack.dir) ?? null) : null;
  const mode =
    runningTemporalMode(config, state) ?? config.stack.temporal ?? state.temporal ?? 'dev';
  return [
    ...(await temporalStatus(config, state, mode)),
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
