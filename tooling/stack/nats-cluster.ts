import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../src/platform/wait';
import type { LocalSecrets } from '../../src/platform/security/local-secrets';
import { natsBinary } from './binaries';
import { LOOPBACK_NAMES, localCertificateAuthority } from './certificates';
import type { CertificateFiles } from './certificates';
import { natsAccountsConfig } from './nats';
import { commandLine, isAlive, spawnDetached, stopPid, tailFile } from './process';

/**
 * A three-node nats-server cluster with JetStream on loopback, for tests that must see what a real
 * deployment sees: replicated (R3) streams, a node dying, clients moving to the nodes left.
 * Each node has its own ports, store folder, config and log under one folder.
 */

export const CLUSTER_SIZE = 3;

export interface NatsClusterOptions {
  /** Folder for the nodes' configs, stores, logs and pid files (made if missing). */
  dir: string;
  /**
   * Ports are derived from it: node i serves clients on base+i, routes on base+10+i and
   * monitoring on base+20+i.
   */
  basePort: number;
  /** Where tooling/stack/binaries.ts keeps (or builds) nats-server. */
  binCacheDir: string;
  /** The folder of the CA that issues the certificate the nodes' routes show and want (the stack's). */
  tlsDir: string;
  /**
   * The local stack's secrets: every node gets the single server's accounts and users
   * (tooling/stack/nats.ts), so the cluster is as closed as it. Unset, the nodes ask for no credentials.
   */
  secrets?: LocalSecrets;
  /** Start from empty stores (a test's own cluster); default false keeps what earlier runs stored. */
  fresh?: boolean;
  log?: (line: string) => void;
  /** How long to wait for the cluster (or a restarted node) to be ready. */
  readyTimeoutMs?: number;
}

export interface NatsNode {
  index: number;
  name: string;
  clientPort: number;
  routePort: number;
  monitorPort: number;
  url: string;
  dir: string;
  configFile: string;
  logFile: string;
  /** The running process, or undefined while the node is down. */
  pid: number | undefined;
}

export interface NatsCluster {
  nodes: readonly NatsNode[];
  /** Every node's client URL: what NATS_SERVERS should name. */
  servers: string[];
  /** SIGKILL one node: no goodbye to its peers or clients, as in a crash. */
  killNode(index: number): void;
  /** Starts a node that was killed (same store) and waits until it has caught up with JetStream. */
  restartNode(index: number): Promise<void>;
  /** The running node that leads the JetStream meta group, or undefined while there is none. */
  metaLeader(): Promise<string | undefined>;
  /** SIGTERM every node, SIGKILL any that lingers. */
  stop(): Promise<void>;
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

/**
 * Where a stack's NATS cluster starts: 20 above its NATS port, so that its nodes' client, route and
 * monitor ports (+20 to +42) stay below the NATS port of a stack 50 higher (test/unit/stack-ports.test.ts).
 */
export const natsClusterBasePort = (natsPort: number): number => natsPort + 20;

export function clusterNodes(dir: string, basePort: number): NatsNode[] {
  return Array.from({ length: CLUSTER_SIZE }, (_, i) => {
    const name = `n${i + 1}`;
    const nodeDir = path.join(dir, name);
    return {
      index: i,
      name,
      clientPort: basePort + i,
      routePort: basePort + 10 + i,
      monitorPort: basePort + 20 + i,
      url: `nats://127.0.0.1:${basePort + i}`,
      dir: nodeDir,
      configFile: path.join(nodeDir, 'nats.conf'),
      logFile: path.join(nodeDir, 'nats.log'),
      pid: undefined,
    };
  });
}

/** The subject of the route certificate: the one route user the nodes let in (CLUSTER_ROUTE_USER). */
export const ROUTE_COMMON_NAME = 'nats-route';
/** How nats-server names a certificate's subject when it maps it to a user. */
export const CLUSTER_ROUTE_USER = `CN=${ROUTE_COMMON_NAME}`;

/** Issues (or finds) the certificate every node shows on its routes, and wants back, in `tlsDir`. */
export function issueRouteCertificate(tlsDir: string): CertificateFiles & { caFile: string } {
  const ca = localCertificateAuthority(tlsDir);
  const files = ca.issue({
    name: ROUTE_COMMON_NAME,
    commonName: ROUTE_COMMON_NAME,
    use: 'both',
    ...LOOPBACK_NAMES,
  });
  return { ...files, caFile: ca.certFile };
}

/**
 * One node's file: loopback only, its own store fsynced on every write, routes to all three. Routes are
 * mutual TLS: a node dials another only if that one shows a certificate of the stack's CA, and takes a
 * route only from a peer that shows the route certificate (its subject mapped to the cluster's one user).
 */
export function clusterNodeConfig(
  node: NatsNode,
  all: readonly NatsNode[],
  route: CertificateFiles & { caFile: string },
  extra = '',
): string {
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.clientPort}`,
    `http: 127.0.0.1:${node.monitorPort}`,
    `jetstream {`,
    `  store_dir: ${JSON.stringify(path.join(node.dir, 'jetstream'))}`,
    `  sync_interval: always`,
    `}`,
    `cluster {`,
    `  name: shipshape`,
    `  listen: 127.0.0.1:${node.routePort}`,
    `  tls {`,
    `    cert_file: ${JSON.stringify(route.certFile)}`,
    `    key_file: ${JSON.stringify(route.keyFile)}`,
    `    ca_file: ${JSON.stringify(route.caFile)}`,
    `    verify_and_map: true`,
    `  }`,
    `  authorization {`,
    `    user: ${JSON.stringify(CLUSTER_ROUTE_USER)}`,
    `  }`,
    `  routes: [`,
    ...all.map((n) => `    nats-route://127.0.0.1:${n.routePort}`),
    `  ]`,
    `}`,
    extra,
    '',
  ].join('\n');
}

async function monitor<T>(node: NatsNode, route: string): Promise<T | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.monitorPort}${route}`, {
      signal: AbortSignal.timeout(1000),
    });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

const pidFile = (node: NatsNode) => path.join(node.dir, 'nats.pid');

/** A node left running by an earlier run in this folder (a test that crashed) is stopped first. */
async function killLeftover(node: NatsNode): Promise<void> {
  if (!existsSync(pidFile(node))) return;
  const pid = Number(readFileSync(pidFile(node), 'utf8'));
  if (!Number.isInteger(pid) || !isAlive(pid) || !commandLine(pid).includes(node.configFile))
    return;
  process.kill(pid, 'SIGKILL');
  await waitFor(`the leftover ${node.name} to die`, () => !isAlive(pid), { timeoutMs: 5_000 });
}

export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  const log = opts.log ?? (() => undefined);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const bin = await natsBinary(opts.binCacheDir, log);
  const nodes = clusterNodes(path.resolve(opts.dir), opts.basePort);
  const route = issueRouteCertificate(opts.tlsDir);

  const spawnNode = (node: NatsNode) => {
    node.pid = spawnDetached(bin, ['-c', node.configFile], node.logFile, node.dir);
    writeFileSync(pidFile(node), String(node.pid));
  };

  const check = (node: NatsNode) => {
    if (node.pid === undefined || !isAlive(node.pid))
      throw new Error(
        `${node.name} exited\n--- ${node.logFile} (tail) ---\n${tailFile(node.logFile)}`,
      );
  };

  // A survivor may still name a killed leader for a moment: only a running leader counts.
  const metaLeader = async (): Promise<string | undefined> => {
    const running = new Set(nodes.filter((n) => n.pid !== undefined).map((n) => n.name));
    for (const node of nodes) {
      if (node.pid === undefined) continue;
      const leader = (await monitor<Jsz>(node, '/jsz'))?.meta_cluster?.leader;
      if (leader && running.has(leader)) return leader;
    }
    return undefined;
  };

  /** Plain /healthz answers 200 only once the node's JetStream is current with the cluster. */
  const healthy = async (node: NatsNode) =>
    (await monitor<{ status?: string }>(node, '/healthz'))?.status === 'ok';

  for (const node of nodes) {
    await killLeftover(node);
    if (opts.fresh) rmSync(node.dir, { recursive: true, force: true });
    mkdirSync(path.join(node.dir, 'jetstream'), { recursive: true });
    // The file holds passwords: readable by its owner only.
    writeFileSync(
      node.configFile,
      clusterNodeConfig(node, nodes, route, opts.secrets && natsAccountsConfig(opts.secrets)),
      { mode: 0o600 },
    );
    chmodSync(node.configFile, 0o600);
  }
  log(`starting a ${CLUSTER_SIZE}-node NATS cluster on ${nodes.map((n) => n.url).join(', ')}`);
  nodes.forEach(spawnNode);

  const cluster: NatsCluster = {
    nodes,
    servers: nodes.map((n) => n.url),
    killNode(index) {
      const node = nodeAt(nodes, index);
      if (node.pid === undefined) throw new Error(`${node.name} is not running`);
      process.kill(node.pid, 'SIGKILL');
      log(`killed NATS node ${node.name} (pid ${node.pid})`);
      node.pid = undefined;
    },
    async restartNode(index) {
      const node = nodeAt(nodes, index);
      if (node.pid !== undefined && isAlive(node.pid))
        throw new Error(`${node.name} is still running`);
      spawnNode(node);
      log(`restarted NATS node ${node.name} (pid ${node.pid})`);
      await waitFor(
        `NATS node ${node.name} to rejoin and catch up`,
        async () => {
          check(node);
          return (await healthy(node)) && (await metaLeader()) !== undefined;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 250 },
      );
    },
    metaLeader,
    async stop() {
      await Promise.all(nodes.map(stopNode));
    },
  };

  try {
    await waitFor(
      'the NATS cluster to elect a JetStream meta leader',
      async () => {
        nodes.forEach(check);
        return (await Promise.all(nodes.map(healthy))).every(Boolean) && (await metaLeader());
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  log(`NATS cluster ready; meta leader ${await metaLeader()}`);
  return cluster;
}

function nodeAt(nodes: readonly NatsNode[], index: number): NatsNode {
  const node = nodes[index];
  if (!node)
    throw new RangeError(`no NATS node ${index}: the cluster has nodes 0 to ${nodes.length - 1}`);
  return node;
}

async function stopNode(node: NatsNode): Promise<void> {
  await stopPid(node.pid, node.name, 15_000);
  node.pid = undefined;
}
