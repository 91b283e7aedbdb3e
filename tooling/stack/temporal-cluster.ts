import crypto from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { distDir } from '../../src/platform/paths';
import {
  addMissingSearchAttributes,
  missingSearchAttributes,
} from '../../src/platform/temporal/search-attributes';
import { waitFor } from '../../src/platform/wait';
import { temporalServerBinaries } from './binaries';
import { dynamicConfigProblems } from './dynamic-config';
import { ensureOwnedDatabases } from './postgres';
import { commandLine, isAlive, spawnDetached, stopPid, tailFile } from './process';
import {
  clusterNodes,
  DEPLOYMENT_DYNAMIC_CONFIG,
  HISTORY_SHARDS,
  nodeConfig,
} from './temporal-node';
import type { TemporalNode } from './temporal-node';
import type { TemporalIdentity } from '../../src/processes/table';
import { applySchemas } from './temporal-schemas';
import { issueTemporalCertificates, temporalClientTls } from './temporal-tls';

/**
 * A Temporal cluster on loopback, as a deployment runs one: two `temporal-server` processes on the
 * stack's PostgreSQL, clients reaching them through one address.
 *
 * Each process runs all four roles (frontend, history, matching, worker). With two processes that is
 * what makes any one of them expendable: splitting the roles would need two of each role, eight
 * processes, to lose none when one dies, and on one machine they would share the same two cores. A
 * deployment splits them when one role needs scaling on its own (history first).
 *
 * Every connection to a node is mutual TLS with certificates from the stack's CA (tooling/stack/temporal-tls.ts):
 * a client without one of its certificates is refused, and so is anyone calling a node's history or
 * matching role but another role of the cluster.
 *
 * The nodes find each other through the `cluster_membership` table in their database, where each
 * role writes its membership address with a heartbeat; no seed list is needed. History shards are
 * spread over the history roles of both; when one node dies the other takes its shards over once its
 * membership ring drops the dead one (about five seconds).
 */

/** Retention of closed workflows in the namespace the cluster makes, as docker-compose.yml's. */
const NAMESPACE_RETENTION_MS = 7 * 24 * 3_600_000;

export interface TemporalClusterOptions {
  /** Folder for the nodes' configs, logs and pid files, and the database password (made if missing). */
  dir: string;
  /** Node i takes the nine ports from basePort + 10 * i (see clusterNodes). */
  basePort: number;
  /** Where the round-robin forwarder listens: the one address clients are given. */
  frontendPort: number;
  binCacheDir: string;
  /** The folder of the CA whose certificates the nodes show and want (the stack's, `<stack dir>/tls`). */
  tlsDir: string;
  /** The stack's PostgreSQL (tooling/stack/postgres.ts), where the cluster gets its role and databases. */
  postgres: { stackDir: string; port: number };
  /** The role and main database (the visibility database adds `_visibility`); one per cluster. */
  database: string;
  namespace: string;
  /** The nodes' dynamic config; default the deployment's own (DEPLOYMENT_DYNAMIC_CONFIG). */
  dynamicConfigFile?: string;
  /** Drop the databases and start empty; also done when the folder is new (its data went with it). */
  fresh?: boolean;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}
const FORWARDER_ENTRY = path.join(distDir, 'tooling', 'stack', 'forwarder-process.js');

function livePid(pidFile: string, tag: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  return Number.isInteger(pid) && isAlive(pid) && commandLine(pid).includes(tag) ? pid : undefined;
}

/** The number in a Prometheus text line `numshards_gauge{…} 2`, from a node's metrics. */
export function shardsFromMetrics(text: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('numshards_gauge'));
  const value = line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  return Number.isFinite(value) ? value : undefined;
}

/** Every node answers and every shard has exactly one owner among them. */
export const allShardsOwned = (owned: readonly (number | undefined)[]): boolean =>
  owned.every((n) => n !== undefined) &&
  owned.reduce<number>((a, n) => a + (n ?? 0), 0) === HISTORY_SHARDS;

async function withConnection<T>(
  address: string,
  tls: TLSConfig | undefined,
  fn: (c: Connection) => Promise<T>,
): Promise<T | undefined> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, tls, connectTimeout: 2000 });
    return await fn(connection);
  } catch {
    return undefined;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/**
 * The cluster in `opts.dir`. Its processes are detached and found again through their pid files, so
 * any process may look at, stop or break a cluster another one started (`stack status`, the chaos
 * campaign).
 */
export class TemporalCluster {
  readonly nodes: readonly TemporalNode[];
  /** The forwarder's address: what TEMPORAL_ADDRESS names. */
  readonly address: string;
  readonly forwarderLogFile: string;
  private readonly dir: string;
  private readonly forwarderPidFile: string;
  private readonly log: (line: string) => void;
  private readonly readyTimeoutMs: number;

  constructor(private readonly opts: TemporalClusterOptions) {
    this.dir = path.resolve(opts.dir);
    this.nodes = clusterNodes(this.dir, opts.basePort);
    this.address = `127.0.0.1:${opts.frontendPort}`;
    this.forwarderPidFile = path.join(this.dir, 'forwarder.pid');
    this.forwarderLogFile = path.join(this.dir, 'forwarder.log');
    this.log = opts.log ?? (() => undefined);
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  }

  /** A node's process while it runs from this cluster's folder. */
  pidOf(index: number): number | undefined {
    const node = this.node(index);
    return livePid(node.pidFile, node.configFile);
  }

  forwarderPid(): number | undefined {
    return livePid(this.forwarderPidFile, this.dir);
  }

  /** SIGKILL one node: no goodbye to its peers, as in a crash. Returns its pid. */
  killNode(index: number): number {
    const node = this.node(index);
    const pid = this.pidOf(index);
    if (pid === undefined) throw new Error(`${node.name} is not running`);
    process.kill(pid, 'SIGKILL');
    this.log(`killed Temporal node ${node.name} (pid ${pid})`);
    return pid;
  }

  /** Starts a killed node again; returns once it answers and every shard has its owner again. */
  async restartNode(index: number): Promise<void> {
    const node = this.node(index);
    if (this.pidOf(index) !== undefined) throw new Error(`${node.name} is still running`);
    const { server } = await temporalServerBinaries(this.opts.binCacheDir, this.log);
    this.spawnNode(server, node);
    this.log(`restarted Temporal node ${node.name} (pid ${this.pidOf(index)})`);
    // Rejoined means owning shards again: right after it answers, it may still report none while the
    // other reports all four, and the shards move over the next moments.
    await this.waitRunning(`Temporal node ${node.name} to rejoin`, async () => {
      if (!(await this.nodeAnswers(index))) return false;
      const owned = await this.shardsOwned();
      return (owned[index] ?? 0) > 0 && allShardsOwned(owned);
    });
  }

  /** The history shards each node says it owns (its metrics); undefined for one that does not answer. */
  shardsOwned(): Promise<(number | undefined)[]> {
    return Promise.all(this.nodes.map(nodeShards));
  }

  /** True once the node's own frontend answers with the namespace. */
  async nodeAnswers(index: number): Promise<boolean> {
    return (await this.answersAt(this.node(index).address)) ?? false;
  }

  /** SIGTERM the forwarder and the nodes, SIGKILL any that lingers. */
  async stop(): Promise<void> {
    await stopPid(this.forwarderPid(), 'the Temporal forwarder');
    await Promise.all(this.nodes.map((n) => stopPid(this.pidOf(n.index), n.name)));
  }

  /**
   * Starts whatever is not running (databases and schemas first, then the nodes, then the forwarder)
   * and returns once every node answers with the namespace and the search attributes and every
   * shard is owned. Safe to call again.
   */
  async start(): Promise<void> {
    const { opts, log } = this;
    const { server, sqlTool } = await temporalServerBinaries(opts.binCacheDir, log);
    const passwordFile = path.join(this.dir, 'postgres-password');
    const fresh = opts.fresh === true || !existsSync(passwordFile);
    if (!fresh && (await this.runsWhole())) return;
    // The server would only log a misspelt key and run without it: refuse to start instead.
    const dynamicConfig = opts.dynamicConfigFile ?? DEPLOYMENT_DYNAMIC_CONFIG;
    const problems = await dynamicConfigProblems(server, dynamicConfig);
    if (problems.length)
      throw new Error(
        `${dynamicConfig} has settings the Temporal server would ignore:\n  ${problems.join('\n  ')}`,
      );
    const tls = issueTemporalCertificates(opts.tlsDir);
    if (fresh) {
      await this.stop();
      rmSync(this.dir, { recursive: true, force: true });
    }
    mkdirSync(this.dir, { recursive: true });
    if (!existsSync(passwordFile))
      writeFileSync(passwordFile, crypto.randomBytes(24).toString('hex'), { mode: 0o600 });
    const password = readFileSync(passwordFile, 'utf8').trim();
    await ensureOwnedDatabases(
      opts.postgres.stackDir,
      opts.postgres.port,
      { role: opts.database, password },
      [opts.database, `${opts.database}_visibility`],
      fresh,
    );
    await applySchemas(sqlTool, opts, password, log);

    // Nodes starting together on a database no node has used yet race to write the cluster's first
    // metadata record, and the loser exits: then the first goes alone until its frontend answers.
    const noneRan = this.nodes.every((n) => this.pidOf(n.index) === undefined);
    for (const node of this.nodes) {
      if (this.pidOf(node.index) !== undefined) continue;
      mkdirSync(node.dir, { recursive: true });
      // The file holds the database password: readable by its owner only.
      writeFileSync(
        node.configFile,
        nodeConfig(node, {
          database: opts.database,
          password,
          postgresPort: opts.postgres.port,
          dynamicConfigFile: dynamicConfig,
          tls,
        }),
        { mode: 0o600 },
      );
      log(`starting Temporal node ${node.name} on ${node.address}`);
      this.spawnNode(server, node);
      if (noneRan && node.index === 0)
        await this.waitRunning(
          `${node.name} to answer`,
          async () =>
            (await withConnection(node.address, this.adminTls(), async (c) => {
              await c.workflowService.getSystemInfo({});
              return true;
            })) ?? false,
          [node],
        );
    }
    if (this.forwarderPid() === undefined) {
      const targets = this.nodes.map((n) => n.address);
      log(`starting the round-robin forwarder on ${this.address} → ${targets.join(', ')}`);
      const pid = spawnDetached(
        process.execPath,
        [FORWARDER_ENTRY, String(opts.frontendPort), ...targets, '--', this.dir],
        this.forwarderLogFile,
        this.dir,
      );
      writeFileSync(this.forwarderPidFile, String(pid));
    }
    await this.waitReady();
    log(
      `Temporal cluster ready on ${this.address}; shards per node: ${(await this.shardsOwned()).join(', ')}`,
    );
  }

  private async waitReady(): Promise<void> {
    const { namespace } = this.opts;
    // A new cluster has no namespace: it is made through the first frontend that answers.
    await this.waitRunning('a Temporal node to answer', async () => {
      for (const node of this.nodes) {
        const made = await withConnection(node.address, this.adminTls(), (c) =>
          registerNamespace(c, namespace),
        );
        if (made) this.log(`registered namespace ${namespace}`);
        if (made !== undefined) return true;
      }
      return false;
    });
    await this.waitRunning(`every Temporal node to know namespace ${namespace}`, async () =>
      (await Promise.all(this.nodes.map((n) => this.nodeAnswers(n.index)))).every(Boolean),
    );
    // Registered through one node (again while a just-started node refuses); each node reads them
    // from its own namespace cache, refreshed every few seconds.
    await this.waitRunning('every Temporal node to know the search attributes', async () => {
      const added = await withConnection(this.nodes[0]!.address, this.adminTls(), (c) =>
        addMissingSearchAttributes(c, namespace),
      );
      if (added?.length) this.log(`registered search attributes ${added.join(', ')}`);
      const missing = await Promise.all(
        this.nodes.map((n) =>
          withConnection(n.address, this.adminTls(), (c) => missingSearchAttributes(c, namespace)),
        ),
      );
      return missing.every((m) => m !== undefined && m.length === 0);
    });
    await this.waitRunning('every history shard to have one owner', async () =>
      allShardsOwned(await this.shardsOwned()),
    );
    await this.waitRunning(
      `the forwarder on ${this.address} to answer`,
      async () => (await this.answersAt(this.address)) ?? false,
    );
  }

  /** Every process runs, and the cluster answers through the forwarder with every shard owned. */
  private async runsWhole(): Promise<boolean> {
    if (this.forwarderPid() === undefined) return false;
    if (this.nodes.some((n) => this.pidOf(n.index) === undefined)) return false;
    return (
      ((await this.answersAt(this.address)) ?? false) && allShardsOwned(await this.shardsOwned())
    );
  }

  /** True once the cluster answers with the namespace through its forwarder (what clients use). */
  async answers(): Promise<boolean> {
    return (await this.answersAt(this.address)) ?? false;
  }

  /** The client certificate of `identity` (issued when the cluster starts), for the SDK. */
  clientTls(identity: TemporalIdentity): TLSConfig | undefined {
    return temporalClientTls(this.opts.tlsDir, identity);
  }

  /** The cluster's own calls (readiness, the namespace, search attributes) are the setup step's. */
  private adminTls(): TLSConfig | undefined {
    return this.clientTls('admin');
  }

  private answersAt(address: string): Promise<boolean | undefined> {
    return withConnection(address, this.adminTls(), async (c) => {
      await c.workflowService.describeNamespace({ namespace: this.opts.namespace });
      return true;
    });
  }

  /** Waits for `check`, failing at once (with its log) if one of `nodes` exits meanwhile. */
  private waitRunning(
    what: string,
    check: () => Promise<boolean>,
    nodes: readonly TemporalNode[] = this.nodes,
  ): Promise<true> {
    return waitFor(
      what,
      async () => {
        for (const node of nodes)
          if (this.pidOf(node.index) === undefined)
            throw new Error(
              `${node.name} exited\n--- ${node.logFile} (tail) ---\n${tailFile(node.logFile)}`,
            );
        return check();
      },
      { timeoutMs: this.readyTimeoutMs, intervalMs: 250 },
    );
  }

  private spawnNode(server: string, node: TemporalNode): void {
    const pid = spawnDetached(
      server,
      ['--config-file', node.configFile, 'start'],
      node.logFile,
      node.dir,
    );
    writeFileSync(node.pidFile, String(pid));
  }

  private node(index: number): TemporalNode {
    const node = this.nodes[index];
    if (!node)
      throw new RangeError(
        `no Temporal node ${index}: the cluster has nodes 0 to ${this.nodes.length - 1}`,
      );
    return node;
  }
}

async function nodeShards(node: TemporalNode): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.ports.metrics}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    return res.ok ? shardsFromMetrics(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts (what is not running of) the cluster in `opts.dir` and returns it once ready. */
export async function startTemporalCluster(opts: TemporalClusterOptions): Promise<TemporalCluster> {
  const cluster = new TemporalCluster(opts);
  try {
    await cluster.start();
  } catch (err) {
    // A start that fails leaves nothing running behind it: its nodes hold ports a retry needs.
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}

/** True if it made the namespace, false if it was there; throws while the server cannot say. */
async function registerNamespace(c: Connection, namespace: string): Promise<boolean> {
  try {
    await c.workflowService.describeNamespace({ namespace });
    return false;
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err; // 5: NOT_FOUND
  }
  try {
    await c.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs(NAMESPACE_RETENTION_MS),
    });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 6) return false; // 6: ALREADY_EXISTS (another node made it)
    throw err;
  }
}
