import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import { LOCAL_SERVER_NAME } from '../../src/platform/security/local-certificates';
import type { TemporalClusterTls } from './temporal-tls';

/**
 * What each node of the local Temporal cluster is (tooling/stack/temporal-cluster.ts): its ports, folder
 * and server config.
 */

export const CLUSTER_NODES = 2;
/**
 * History shards (fixed for the life of the databases). Four, not the dev server's one, so that both
 * nodes own some and a node's loss moves work; docs/benchmarks.md says what they cost here.
 */
export const HISTORY_SHARDS = 4;
/** The deployment's own dynamic config, loaded as it is (docker-compose.yml mounts the same file). */
export const DEPLOYMENT_DYNAMIC_CONFIG = path.join(
  projectRoot,
  'deploy',
  'temporal',
  'dynamicconfig.yaml',
);

export interface TemporalNode {
  index: number;
  name: `temporal-${number}`;
  /** The frontend's gRPC address on this node alone. */
  address: string;
  ports: {
    frontend: number;
    history: number;
    matching: number;
    worker: number;
    membership: { frontend: number; history: number; matching: number; worker: number };
    /** Prometheus metrics: what the node says about itself (shards owned). */
    metrics: number;
  };
  dir: string;
  configFile: string;
  logFile: string;
  pidFile: string;
}

export function clusterNodes(dir: string, basePort: number): TemporalNode[] {
  return Array.from({ length: CLUSTER_NODES }, (_, i) => {
    const b = basePort + 10 * i;
    const name = `temporal-${i + 1}` as const;
    const nodeDir = path.join(dir, name);
    return {
      index: i,
      name,
      address: `127.0.0.1:${b}`,
      ports: {
        frontend: b,
        history: b + 1,
        matching: b + 2,
        worker: b + 3,
        membership: { frontend: b + 4, history: b + 5, matching: b + 6, worker: b + 7 },
        metrics: b + 8,
      },
      dir: nodeDir,
      configFile: path.join(nodeDir, 'config.yaml'),
      logFile: path.join(nodeDir, 'temporal.log'),
      pidFile: path.join(nodeDir, 'temporal.pid'),
    };
  });
}

export interface NodeConfigInput {
  database: string;
  password: string;
  postgresPort: number;
  dynamicConfigFile: string;
  tls: TemporalClusterTls;
}

/**
 * One node's server config. Only the ports differ between nodes. Connection pools are per role, so a
 * node holds up to 4 × (10 + 5) PostgreSQL connections: two nodes and the app's processes fit the
 * stack's max_connections (300), where the server's defaults (20 + 10) would not with the scale-out
 * test's replicas.
 */
export function nodeConfig(node: TemporalNode, c: NodeConfigInput): string {
  const store = (database: string, maxConns: number) => [
    `      sql:`,
    `        pluginName: postgres12`,
    `        databaseName: ${database}`,
    `        connectAddr: "127.0.0.1:${c.postgresPort}"`,
    `        connectProtocol: tcp`,
    `        user: ${c.database}`,
    `        password: ${JSON.stringify(c.password)}`,
    `        maxConns: ${maxConns}`,
    `        maxIdleConns: ${maxConns}`,
    `        maxConnLifetime: 1h`,
  ];
  const role = (name: keyof TemporalNode['ports']['membership']) => [
    `  ${name}:`,
    `    rpc:`,
    `      grpcPort: ${node.ports[name]}`,
    `      membershipPort: ${node.ports.membership[name]}`,
    `      bindOnLocalHost: true`,
  ];
  const q = (file: string) => JSON.stringify(file);
  // Mutual TLS everywhere: the frontend serves no client without a certificate from the stack's CA,
  // and the nodes' roles (frontend, history, matching) take calls only from one another.
  const mutual = (files: { certFile: string; keyFile: string }) => [
    `      server:`,
    `        certFile: ${q(files.certFile)}`,
    `        keyFile: ${q(files.keyFile)}`,
    `        requireClientAuth: true`,
    `        clientCaFiles: [${q(c.tls.caFile)}]`,
    `      client:`,
    // Each role dials the others by address; the name checked is the one the certificates carry.
    `        serverName: ${LOCAL_SERVER_NAME}`,
    `        rootCaFiles: [${q(c.tls.caFile)}]`,
  ];
  return [
    `# Written by shipshape (tooling/stack/temporal-cluster.ts): node ${node.index + 1} of ${CLUSTER_NODES}, every role.`,
    `log:`,
    `  stdout: true`,
    `  level: info`,
    `persistence:`,
    `  numHistoryShards: ${HISTORY_SHARDS}`,
    `  defaultStore: default`,
    `  visibilityStore: visibility`,
    `  datastores:`,
    `    default:`,
    ...store(c.database, 10),
    `    visibility:`,
    ...store(`${c.database}_visibility`, 5),
    `global:`,
    `  membership:`,
    `    maxJoinDuration: 30s`,
    `    broadcastAddress: 127.0.0.1`,
    `  metrics:`,
    `    prometheus:`,
    `      framework: tally`,
    `      timerType: histogram`,
    `      listenAddress: "127.0.0.1:${node.ports.metrics}"`,
    `  tls:`,
    `    internode:`,
    ...mutual(c.tls.internode),
    `    frontend:`,
    ...mutual(c.tls.frontend),
    // The node's own system worker calls the frontend like any client: with a certificate of its own.
    `    systemWorker:`,
    `      certFile: ${q(c.tls.systemWorker.certFile)}`,
    `      keyFile: ${q(c.tls.systemWorker.keyFile)}`,
    `      client:`,
    `        serverName: ${LOCAL_SERVER_NAME}`,
    `        rootCaFiles: [${q(c.tls.caFile)}]`,
    `services:`,
    ...role('frontend'),
    ...role('history'),
    ...role('matching'),
    ...role('worker'),
    `clusterMetadata:`,
    `  enableGlobalNamespace: false`,
    `  failoverVersionIncrement: 10`,
    `  masterClusterName: active`,
    `  currentClusterName: active`,
    `  clusterInformation:`,
    `    active:`,
    `      enabled: true`,
    `      initialFailoverVersion: 1`,
    `      rpcName: frontend`,
    `      rpcAddress: "${node.address}"`,
    `dcRedirectionPolicy:`,
    `  policy: noop`,
    `dynamicConfigClient:`,
    `  filepath: ${JSON.stringify(c.dynamicConfigFile)}`,
    `  pollInterval: 10s`,
    '',
  ].join('\n');
}
