import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { KNOWN_VARIABLES, loadConfig } from '../../src/platform/config';
import { loginRoleOf } from '../../src/platform/db/roles';
import { findApiKey, parseApiKeys } from '../../src/platform/security/api-keys';
import { temporalClientCertificateName } from '../../src/platform/security/local-certificates';
import {
  makeDeploymentSecrets,
  NATS_NODES,
  natsRouteCertificateName,
} from '../../tooling/deploy/secrets';
import { CLUSTER_ROUTE_USER } from '../../tooling/stack/nats-cluster';
import { projectRoot } from '../../src/platform/paths';
import {
  NATS_VERSION,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_VERSION,
} from '../../tooling/stack/binaries';
import {
  connectsToTemporal,
  holdsPayloadKeys,
  isProcessIdentity,
  nodeOptionsOf,
  PROCESS_IDENTITIES,
  PROCESS_TABLE,
  RUNNABLE_PROCESSES,
} from '../../src/processes/table';
import type { ProcessRow, TemporalIdentity } from '../../src/processes/table';
import { TEMPORAL_DYNAMIC_CONFIG } from '../../tooling/stack/temporal';
import { HISTORY_SHARDS } from '../../tooling/stack/temporal-node';

/** Every metric name the code names (`'shipshape_…'` in src/). */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts'))
        for (const m of readFileSync(file, 'utf8').matchAll(/['"](shipshape_\w+)['"]/g))
          names.add(m[1]!);
    }
  };
  walk(path.join(projectRoot, 'src'));
  return names;
}

interface ComposeService {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: (string | { source: string; target: string })[];
  depends_on?: Record<string, { condition: string }> | string[];
  deploy?: { replicas?: number };
  networks?: Record<string, { aliases?: string[] } | null> | string[];
}

/** `[ip:]host:container` → its parts; no ip means every interface. */
function publishedPort(spec: string): { ip: string | undefined; host: number; container: number } {
  const parts = spec.split(':');
  const [container, host, ip] = [...parts].reverse();
  return { ip, host: Number(host), container: Number(container) };
}

/**
 * Variables the code reads that docker-compose.yml leaves to their defaults, each for a reason.
 * Every other variable must be set on the app's services: a new setting is a decision to make here.
 */
const LEFT_TO_DEFAULTS: Record<string, string> = {
  SHIPSHAPE_STACK_DIR: 'the local stack only',
  SHIPSHAPE_BIN_CACHE: 'the local stack only',
  XDG_CACHE_HOME: 'the local stack only',
  SHIPSHAPE_PORT_OFFSET: 'the local stack only',
  SHIPSHAPE_TEMPORAL: 'the local stack only (this file runs its own Temporal servers)',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'tracing is off until a collector is named',
  SHIPSHAPE_LANES: 'the default suits one replica; scale with replicas',
  SHIPSHAPE_DRAIN_NICENESS:
    'read by `shipshape run` and the local stack only: a deployment gives the API cores of its own',
  SHIPSHAPE_ACTIVITY_SLOTS: 'default',
  SHIPSHAPE_WORKFLOW_TASK_SLOTS: 'default',
  SHIPSHAPE_WORKFLOW_CACHE:
    'default, sized for the heap limit the worker runs with (--max-old-space-size)',
  SHIPSHAPE_PAYMENT_RATE_PER_SEC: 'unlimited until the provider says otherwise',
  SHIPSHAPE_CARRIER_RATE_PER_SEC: 'unlimited until the carrier says otherwise',
  SHIPSHAPE_STEP_TIMEOUT_MS: 'default',
  SHIPSHAPE_STEP_MAX_SENDS: 'default',
  SHIPSHAPE_COMPENSATION_ROUNDS: 'default',
  SHIPSHAPE_LOYALTY_RETRY_MS: 'default',
  SHIPSHAPE_PROVIDER_TIMEOUT_MS: 'default',
  SHIPSHAPE_MAX_DELIVER: 'default',
  SHIPSHAPE_ACK_WAIT_MS: 'default',
  SHIPSHAPE_DUPLICATE_WINDOW_MS: 'default',
  SHIPSHAPE_STREAM_MAX_BYTES:
    'default (1 GiB a stream, five streams, on each node); raise it with the disk',
  SHIPSHAPE_RECONCILE_PERIOD_MS: 'default',
  SHIPSHAPE_RECONCILE_THRESHOLD_MS: 'default',
  SHIPSHAPE_RECONCILE_MAX: 'default',
  SHIPSHAPE_CLEANUP_PERIOD_MS: 'default',
  SHIPSHAPE_MAX_CLEANUPS: 'default',
  SHIPSHAPE_FAILING_TASK_ATTEMPTS: 'default',
  SHIPSHAPE_API_ANONYMOUS_RATE_PER_MIN:
    'default (60 a minute per address); behind a proxy every caller has its address',
  SHIPSHAPE_ORDER_LIFETIME_HOURS: 'default (a week, a wait for an operator included)',
  SHIPSHAPE_COMMAND_RETENTION_HOURS: 'default (30 days)',
  SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS: 'default (30 days)',
  SHIPSHAPE_PRUNE_PERIOD_MS: 'default',
  SHIPSHAPE_RELAY_INTERVAL_MS: 'default',
  SHIPSHAPE_RELAY_GRACE_MS: 'default',
  SHIPSHAPE_CRASH_POINTS: 'chaos testing only; never in a deployment',
  SHIPSHAPE_BUILD_ID: 'derived from the workflow code in the image; a release may name it',
  PORT: 'the API only (set there)',
  CODEC_PORT: 'the codec server only (set there)',
  NATS_USER: 'per-process credentials, set per service where the broker has users',
  NATS_PASSWORD: 'a secret: NATS_PASSWORD_FILE instead',
  NATS_PASSWORD_FILE: 'per-process credentials, set per service where the broker has users',
  NATS_CREDS_FILE: 'an alternative to user and password',
  NATS_TLS_CA: 'TLS inside the compose network is off; set for a remote broker',
  NATS_TLS_CERT: 'as NATS_TLS_CA',
  NATS_TLS_KEY: 'as NATS_TLS_CA',
  DATABASE_PASSWORD_FILE: 'per-process credentials, set per service where roles have passwords',
  MIGRATION_DATABASE_URL: 'DATABASE_URL owns the schema in this file',
  DATABASE_STATEMENT_TIMEOUT_MS: 'default',
  DATABASE_IDLE_TX_TIMEOUT_MS: 'default',
  SHIPSHAPE_API_KEYS: 'a secret: SHIPSHAPE_API_KEYS_FILE instead',
  SHIPSHAPE_API_KEYS_FILE: 'the API only, with its keys file',
  SHIPSHAPE_CALLER_API_KEY: 'the CLI only',
  SHIPSHAPE_API_KEY: 'the former name of SHIPSHAPE_CALLER_API_KEY, read this release only',
  SHIPSHAPE_API_RATE_PER_MIN: 'default',
  SHIPSHAPE_PAYLOAD_KEYS: 'a secret: SHIPSHAPE_PAYLOAD_KEYS_FILE instead',
  SHIPSHAPE_TRUSTED_SIGNERS: 'SHIPSHAPE_TRUSTED_SIGNERS_FILE instead, one list for every worker',
  SHIPSHAPE_DATA_KEYS: 'a secret: SHIPSHAPE_DATA_KEYS_FILE instead',
  TEMPORAL_API_KEY: 'Temporal Cloud with an API key instead of mTLS (docs/scaling.md)',
};

/** The processes that share their work across replicas (docs/scaling.md). */
const SCALED = ['temporal-worker', 'inventory', 'payment', 'loyalty', 'shipping', 'reply-bridge'];
/** One instance on purpose: the API publishes a host port; the relay and reconciler, see docker-compose.yml. */
const SINGLE = ['api', 'outbox-relay', 'reconciler'];
/**
 * PostgreSQL connections of the app's processes with docker-compose.yml's replicas, as docs/scaling.md
 * counts them: API 20, 2 × (4 services × 10 + worker 10 + bridge 2), relay 2, reconciler 3.
 */
const APP_CONNECTIONS = 129;
/** Each Temporal server keeps a pool per role, for its two databases. */
const TEMPORAL_ROLES = 4;

/** docker-compose.yml cannot run here (no Docker engine): check it against the code instead. */
describe('docker-compose.yml, checked against the code', () => {
  const compose = parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<string, ComposeService>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;
  const app = Object.entries(services).filter(([, s]) => s.image === 'shipshape:latest');
  /** Ours but the UI gate, which stands apart: it needs none of the servers, only the UI server. */
  const backend = app.filter(([name]) => name !== 'ui-gate');
  /** The container ports a service publishes. */
  const hostPort = (name: string) =>
    (services[name]?.ports ?? []).map((p) => publishedPort(p).container);
  /** The secrets a service mounts, by their names in the file's `secrets`. */
  const secretsOf = (name: string) =>
    (services[name]?.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source));
  /** The services that run Shipshape's own code. */
  const ours = (name: string) => services[name]?.image === 'shipshape:latest';
  const networksOf = (name: string) => {
    const n = services[name]?.networks ?? ['default'];
    return Array.isArray(n) ? n : Object.keys(n);
  };
  const target = (url: string) => {
    const u = new URL(url.includes('://') ? url : `tcp://${url}`);
    return { host: u.hostname, port: Number(u.port) };
  };
  const apiEnv = services.api!.environment!;
  const dependsOn = (name: string) => {
    const d = services[name]?.depends_on ?? {};
    return Array.isArray(d)
      ? Object.fromEntries(d.map((n) => [n, 'service_started']))
      : Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.condition]));
  };
  const natsConf = readFileSync(path.join(projectRoot, 'deploy', 'nats', 'nats.conf'), 'utf8');
  /** The Temporal servers: every service running the server image. */
  const temporalServers = Object.entries(services).filter(([, s]) =>
    s.image?.startsWith('temporalio/server:'),
  );
  const temporalNames = temporalServers.map(([name]) => name);

  it('runs every process of the app from an entry point that exists', () => {
    for (const name of RUNNABLE_PROCESSES) {
      const svc = services[name];
      assert.ok(svc, `a service for ${name}`);
      assert.deepEqual(svc.command, ['node', ...nodeOptionsOf(name), `dist/workers/${name}.js`]);
      assert.ok(existsSync(path.join(projectRoot, 'workers', `${name}.ts`)), `workers/${name}.ts`);
    }
  });

  it("runs the API in the image by default with the API's own node options", () => {
    const dockerfile = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');
    const cmd = /^CMD (.+)$/m.exec(dockerfile)?.[1];
    assert.deepEqual(cmd && JSON.parse(cmd), [
      'node',
      ...nodeOptionsOf('api'),
      'dist/workers/api.js',
    ]);
  });

  it('sets every variable a deployment needs, only variables the code reads, and values the code accepts', () => {
    const required = [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_TASK_QUEUE',
      'NATS_SERVERS',
      'PAYMENT_PROVIDER_URL',
      'CARRIER_URL',
      'SHIPSHAPE_STREAM_REPLICAS',
    ];
    const needs = (name: string): string[] =>
      name === 'ui-gate'
        ? ['TEMPORAL_UI_UPSTREAM', 'UI_GATE_PORT', 'SHIPSHAPE_API_KEYS_FILE']
        : // A process with a database role of its own names it; the others have no database to name.
          [...required, ...(isProcessIdentity(name) || name === 'setup' ? ['DATABASE_URL'] : [])];
    for (const [name, svc] of app) {
      const env = svc.environment ?? {};
      for (const v of needs(name)) assert.ok(env[v], `${name} sets ${v}`);
      for (const v of Object.keys(env))
        assert.ok(KNOWN_VARIABLES.includes(v), `${name} sets ${v}, which the code does not read`);
      assert.doesNotThrow(() => loadConfig(env), `${name}'s settings parse`);
    }
  });

  it('sets or leaves to its default, on purpose, every variable the code reads', () => {
    const set = new Set(app.flatMap(([, s]) => Object.keys(s.environment ?? {})));
    const undecided = KNOWN_VARIABLES.filter((v) => !set.has(v) && !(v in LEFT_TO_DEFAULTS));
    assert.deepEqual(
      undecided,
      [],
      'set these in docker-compose.yml, or add them to LEFT_TO_DEFAULTS with the reason',
    );
    const stale = Object.keys(LEFT_TO_DEFAULTS).filter((v) => !KNOWN_VARIABLES.includes(v));
    assert.deepEqual(stale, [], 'LEFT_TO_DEFAULTS names variables the code no longer reads');
  });

  it('points every address at a service that listens on that port', () => {
    // TEMPORAL_ADDRESS names every Temporal server at once, through the name they all answer to.
    const temporal = target(apiEnv.TEMPORAL_ADDRESS!);
    for (const [name, svc] of temporalServers) {
      const networks = svc.networks as Record<string, { aliases?: string[] } | null>;
      for (const network of ['default', 'operators'])
        assert.ok(
          networks[network]?.aliases?.includes(temporal.host),
          `${name} answers to ${temporal.host} on ${network}`,
        );
      assert.ok(
        (svc.ports ?? []).some((p) => publishedPort(p).container === temporal.port),
        `${name} publishes its frontend, ${temporal.port}`,
      );
    }
    const published = temporalServers.flatMap(([, svc]) =>
      (svc.ports ?? []).map((p) => publishedPort(p).host),
    );
    assert.equal(
      new Set(published).size,
      temporalServers.length,
      `each server publishes its frontend on a host port of its own: ${published.join(', ')}`,
    );
    const db = target(apiEnv.DATABASE_URL!);
    assert.equal(db.host, 'postgres');
    assert.equal(db.port, 5432);
    // The fake providers listen on the ports their URLs name (src/processes/fake-providers.ts reads them from the URLs).
    assert.equal(target(apiEnv.PAYMENT_PROVIDER_URL!).host, 'fake-providers');
    assert.equal(target(apiEnv.CARRIER_URL!).host, 'fake-providers');
    // The API listens on PORT, on all interfaces, and publishes that port.
    const api = loadConfig(apiEnv);
    assert.equal(api.api.host, '0.0.0.0');
    assert.ok(hostPort('api').includes(api.api.port), `api publishes ${api.api.port}`);
    assert.equal(services['temporal-ui']?.environment?.TEMPORAL_ADDRESS, apiEnv.TEMPORAL_ADDRESS);
  });

  it('runs a three-node NATS cluster that NATS_SERVERS names in full, with R3 streams', () => {
    const config = loadConfig(apiEnv);
    const nodes = config.nats.servers.map(target);
    assert.deepEqual(
      nodes.map((n) => n.host),
      ['nats-1', 'nats-2', 'nats-3'],
      'NATS_SERVERS names every node',
    );
    const clientPort = Number(/^listen:\s*[\d.]+:(\d+)/m.exec(natsConf)?.[1]);
    const routePort = Number(/cluster\s*\{[^}]*listen:\s*[\d.]+:(\d+)/s.exec(natsConf)?.[1]);
    assert.ok(/^\s*jetstream\s*\{/m.test(natsConf), 'JetStream is on');
    assert.match(natsConf, /store_dir:\s*\/data/);
    const names = new Set<string>();
    const stores = new Set<string>();
    for (const node of nodes) {
      const svc = services[node.host]!;
      assert.ok(svc, `a service for ${node.host}`);
      assert.equal(node.port, clientPort, `${node.host} listens on ${node.port}`);
      assert.deepEqual(svc.command, ['-c', '/etc/nats/nats.conf']);
      assert.ok(
        svc.volumes?.includes('./deploy/nats/nats.conf:/etc/nats/nats.conf:ro'),
        `${node.host} mounts deploy/nats/nats.conf`,
      );
      // Closed like the local server: the accounts and every user's password.
      assert.ok(
        svc.volumes?.includes('./deploy/nats/accounts.conf:/etc/nats/accounts.conf:ro'),
        `${node.host} mounts deploy/nats/accounts.conf`,
      );
      for (const user of [...PROCESS_IDENTITIES, 'admin'])
        assert.ok(
          svc.secrets?.includes(`${user}-password`),
          `${node.host} gets ${user}'s password`,
        );
      const store = svc.volumes?.find((v) => v.endsWith(':/data'));
      assert.ok(store, `${node.host} keeps its store in /data`);
      stores.add(store.split(':')[0]!);
      assert.ok(
        Object.keys(compose.volumes ?? {}).includes(store.split(':')[0]!),
        `${node.host}'s store is a named volume of its own`,
      );
      names.add(svc.environment?.SERVER_NAME ?? '');
      assert.ok(
        natsConf.includes(`nats-route://${node.host}:${routePort}`),
        `every node routes to ${node.host}`,
      );
    }
    assert.equal(names.size, 3, 'each node has its own server name');
    assert.equal(stores.size, 3, 'each node has its own store');
    assert.match(natsConf, /server_name:\s*\$SERVER_NAME/);
    assert.match(natsConf, /^include \.\/accounts\.conf$/m, 'the nodes load the users');
    assert.equal(config.messaging.replicas, 3, 'SHIPSHAPE_STREAM_REPLICAS = 3');
    assert.ok(config.messaging.replicas <= nodes.length, 'no more replicas than nodes');
    for (const [name] of backend)
      for (const node of nodes)
        assert.equal(
          dependsOn(name)[node.host],
          'service_healthy',
          `${name} waits for ${node.host}`,
        );
  });

  it('runs at least two Temporal servers with the same configuration, at the releases the local cluster builds', () => {
    assert.ok(temporalServers.length >= 2, `Temporal servers: ${temporalNames.join(', ')}`);
    const [[, first]] = temporalServers as [[string, ComposeService]];
    for (const [name, svc] of temporalServers) {
      assert.equal(svc.image, `temporalio/server:${TEMPORAL_SERVER_VERSION}`, `${name}'s image`);
      assert.deepEqual(svc.environment, first.environment, `${name} is configured as the first`);
      assert.deepEqual(svc.volumes, first.volumes, `${name} mounts what the first does`);
      assert.deepEqual(svc.depends_on, first.depends_on);
      // The image's entrypoint then announces the container's own address to the other servers.
      assert.equal(svc.environment?.BIND_ON_IP, '0.0.0.0');
      assert.equal(
        Number(svc.environment?.NUM_HISTORY_SHARDS),
        HISTORY_SHARDS,
        'as many history shards as the local cluster that the tests run',
      );
      assert.equal(svc.deploy?.replicas ?? 1, 1, `${name} is one server; the others are named`);
    }
    for (const name of ['temporal-schema', 'temporal-namespace'])
      assert.equal(services[name]?.image, `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    assert.equal(services['temporal-ui']?.image, `temporalio/ui:${TEMPORAL_UI_VERSION}`);
    for (const name of ['nats-1', 'nats-2', 'nats-3'])
      assert.equal(services[name]?.image, `nats:${NATS_VERSION}-alpine`);
  });

  it('tells the app how long the namespace keeps closed runs', () => {
    const retention = services['temporal-namespace']?.environment?.RETENTION;
    const days = Number(/^(\d+)d$/.exec(retention ?? '')?.[1]);
    assert.equal(loadConfig(apiEnv).retention.namespaceHours, days * 24);
  });

  it('runs Temporal on its own databases in the PostgreSQL service, schema first, then the namespace the app uses', () => {
    const server = temporalServers[0]![1].environment!;
    const schema = services['temporal-schema']!.environment!;
    for (const env of [server, schema]) {
      assert.equal(env.DB, 'postgres12');
      assert.equal(env.POSTGRES_SEEDS, 'postgres');
      assert.equal(Number(env.DB_PORT), target(apiEnv.DATABASE_URL!).port);
      // Temporal's own role, which deploy/postgres-init.sql makes with the password of the file it reads.
      assert.equal(env.POSTGRES_USER, 'temporal');
      assert.equal(env.POSTGRES_PWD_FILE, '/run/secrets/temporal-db-password');
    }
    const init = readFileSync(path.join(projectRoot, 'deploy', 'postgres-init.sql'), 'utf8');
    assert.match(
      init,
      /\\set pw `cat \/run\/secrets\/temporal-db-password`\nCREATE ROLE temporal LOGIN PASSWORD :'pw';/,
    );
    for (const script of ['setup-schema.sh', 'entrypoint.sh'])
      assert.match(
        readFileSync(path.join(projectRoot, 'deploy', 'temporal', script), 'utf8'),
        /POSTGRES_PWD=\$\(cat "\$POSTGRES_PWD_FILE"\)/,
        `${script} reads the password from its file`,
      );
    assert.equal(server.DBNAME, schema.DBNAME);
    assert.equal(server.VISIBILITY_DBNAME, schema.VISIBILITY_DBNAME);
    assert.notEqual(
      server.DBNAME,
      services.postgres!.environment!.POSTGRES_DB,
      "Temporal's tables are apart from Shipshape's",
    );
    for (const name of temporalNames)
      assert.equal(dependsOn(name)['temporal-schema'], 'service_completed_successfully');
    assert.equal(dependsOn('temporal-schema').postgres, 'service_healthy');
    // Scripts and files the Temporal services mount exist.
    for (const name of ['temporal-schema', ...temporalNames, 'temporal-namespace']) {
      for (const v of services[name]!.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./'))
          assert.ok(existsSync(path.join(projectRoot, src)), `${name} mounts ${src}`);
      }
    }
    const dyn = server.DYNAMIC_CONFIG_FILE_PATH!;
    for (const [name, svc] of temporalServers)
      assert.ok(
        svc.volumes?.includes(`./deploy/temporal/dynamicconfig.yaml:${dyn}:ro`),
        `${name} mounts deploy/temporal/dynamicconfig.yaml as ${dyn}`,
      );
    const dynamic = readFileSync(
      path.join(projectRoot, 'deploy/temporal/dynamicconfig.yaml'),
      'utf8',
    );
    assert.ok(
      dynamic.includes(`taskQueueName: ${apiEnv.TEMPORAL_TASK_QUEUE}`),
      "task queue partitions are set for the app's task queue",
    );
    assert.match(
      dynamic,
      /system\.enableActivityEagerExecution:\n\s+- value: true/,
      'eager activity dispatch is on, as on the local dev server',
    );
    const settings = parse(dynamic) as Record<string, { value: unknown }[]>;
    assert.equal(
      settings['history.transferProcessorMaxPollRPS']?.[0]?.value,
      TEMPORAL_DYNAMIC_CONFIG['history.transferProcessorMaxPollRPS'],
      'workflow tasks are handed to the matching service as promptly as on the local dev server',
    );
    const ns = services['temporal-namespace']!.environment!;
    assert.equal(ns.TEMPORAL_NAMESPACE, apiEnv.TEMPORAL_NAMESPACE);
    assert.equal(ns.TEMPORAL_ADDRESS, apiEnv.TEMPORAL_ADDRESS);
    for (const name of temporalNames)
      assert.equal(dependsOn('temporal-namespace')[name], 'service_healthy');
    for (const [name] of backend) {
      for (const server of temporalNames)
        assert.equal(dependsOn(name)[server], 'service_healthy', `${name} waits for ${server}`);
      assert.equal(
        dependsOn(name)['temporal-namespace'],
        'service_completed_successfully',
        `${name} waits for the namespace`,
      );
    }
  });

  it('lets PostgreSQL take the connections of every replica and of every Temporal server', () => {
    const command = services.postgres!.command ?? [];
    const setting = command.find((c) => c.startsWith('max_connections='));
    assert.ok(setting, 'postgres sets max_connections');
    const temporal = temporalServers.reduce((sum, [name, svc]) => {
      const env = svc.environment ?? {};
      const pools = Number(env.SQL_MAX_CONNS) + Number(env.SQL_VIS_MAX_CONNS);
      assert.ok(pools > 0, `${name} sets SQL_MAX_CONNS and SQL_VIS_MAX_CONNS`);
      return sum + TEMPORAL_ROLES * pools;
    }, 0);
    assert.ok(
      Number(setting.split('=')[1]) >= APP_CONNECTIONS + temporal,
      `${setting}: the app's ${APP_CONNECTIONS} and Temporal's ${temporal}`,
    );
  });

  const readDeploy = <T>(file: string) =>
    parse(readFileSync(path.join(projectRoot, 'deploy', file), 'utf8')) as T;
  /** `./deploy/x:/etc/y:ro` → the container path of `./deploy/x`, checking the source exists. */
  const mountOf = (service: string, source: string) => {
    const volume = services[service]?.volumes?.find((v) => v.split(':')[0] === source);
    assert.ok(volume, `${service} mounts ${source}`);
    assert.ok(existsSync(path.join(projectRoot, source)), `${source} exists`);
    return volume.split(':')[1]!;
  };

  it('has Prometheus scrape every process that exports metrics, each replica, the API with its key', () => {
    const config = mountOf('prometheus', './deploy/prometheus/prometheus.yml');
    assert.ok(services.prometheus?.command?.includes(`--config.file=${config}`));
    const { scrape_configs: jobs } = readDeploy<{
      scrape_configs: {
        job_name: string;
        authorization?: { type: string; credentials_file: string };
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; type: string; port: number }[];
      }[];
    }>('prometheus/prometheus.yml');
    const exporting = (PROCESS_TABLE as readonly ProcessRow[]).filter((p) => p.metrics !== 'none');
    assert.deepEqual(
      jobs.map((j) => j.job_name).sort(),
      exporting.map((p) => p.name).sort(),
      'one job per process that exports metrics, named after it',
    );
    for (const p of exporting) {
      const job = jobs.find((j) => j.job_name === p.name)!;
      const env = services[p.name]!.environment!;
      const settings = loadConfig(env);
      if (p.metrics === 'api-port') {
        assert.deepEqual(job.static_configs, [{ targets: [`${p.name}:${settings.api.port}`] }]);
        assert.equal(job.authorization?.type, 'Bearer');
        const secret = /^\/run\/secrets\/(.+)$/.exec(job.authorization.credentials_file)?.[1];
        assert.ok(secret && services.prometheus?.secrets?.includes(secret), 'the key is a secret');
      } else {
        // Every replica: the service's DNS name gives each replica's address.
        assert.deepEqual(job.dns_sd_configs, [
          { names: [p.name], type: 'A', port: settings.metricsPort },
        ]);
        assert.ok(settings.metricsPort > 0, `${p.name} serves metrics`);
        assert.equal(settings.api.host, '0.0.0.0', `${p.name} listens beyond its container`);
      }
    }
  });

  it('loads the alert rules into that Prometheus, each on metrics the code exports', () => {
    const rules = mountOf('prometheus', './deploy/prometheus/alerts.yml');
    const { rule_files: loaded } = readDeploy<{ rule_files?: string[] }>(
      'prometheus/prometheus.yml',
    );
    assert.deepEqual(loaded, [rules]);
    const { groups } = readDeploy<{ groups: { rules: { alert: string; expr: string }[] }[] }>(
      'prometheus/alerts.yml',
    );
    const exported = exportedMetrics();
    const alerts = groups.flatMap((g) => g.rules);
    assert.ok(alerts.length > 0);
    for (const { alert, expr } of alerts) {
      const metrics = [...expr.matchAll(/\b(shipshape_\w+)/g)].map((m) => m[1]!);
      assert.ok(metrics.length, `${alert} watches Shipshape's metrics`);
      for (const m of metrics) assert.ok(exported.has(m), `${alert}: no code exports ${m}`);
    }
  });

  it('provisions Grafana with the dashboard, on that Prometheus', () => {
    const provisioning = mountOf('grafana', './deploy/grafana/provisioning');
    const dashboards = mountOf('grafana', './deploy/grafana/dashboards');
    assert.equal(provisioning, '/etc/grafana/provisioning');
    const { datasources } = readDeploy<{ datasources: { uid: string; url: string }[] }>(
      'grafana/provisioning/datasources/prometheus.yml',
    );
    assert.equal(datasources.length, 1);
    const prometheus = new URL(datasources[0]!.url);
    assert.equal(prometheus.hostname, 'prometheus');
    assert.ok(hostPort('prometheus').includes(Number(prometheus.port)));
    const { providers } = readDeploy<{ providers: { options: { path: string } }[] }>(
      'grafana/provisioning/dashboards/shipshape.yml',
    );
    assert.deepEqual(
      providers.map((p) => p.options.path),
      [dashboards],
    );
    const dashboard = readFileSync(
      path.join(projectRoot, 'deploy/grafana/dashboards/shipshape.json'),
      'utf8',
    );
    const uids = new Set([...dashboard.matchAll(/"uid": "([^"]+)"/g)].map((m) => m[1]));
    assert.deepEqual(
      uids,
      new Set(['shipshape', datasources[0]!.uid]),
      'panels use that datasource',
    );
  });

  it('runs replicas of what scales and one of what must not', () => {
    for (const name of SCALED)
      assert.ok((services[name]?.deploy?.replicas ?? 1) >= 2, `${name} has replicas`);
    for (const name of SINGLE)
      assert.equal(services[name]?.deploy?.replicas ?? 1, 1, `${name} runs once`);
  });

  describe('safe as shipped: each boundary, and who may cross it', () => {
    let secretsDir: string;
    before(function () {
      this.timeout(60_000);
      secretsDir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-deploy-secrets-'));
      makeDeploymentSecrets(secretsDir);
    });
    after(() => rmSync(secretsDir, { recursive: true, force: true }));

    /** The file a `/run/secrets/<name>` path names, checking the service mounts it. */
    const mounted = (service: string, file: string | undefined): string => {
      const m = /^\/run\/secrets\/(.+)$/.exec(file ?? '');
      assert.ok(m, `${service}: ${file} is a secret file`);
      const entries = services[service]?.secrets ?? [];
      const source = entries
        .map((x) => (typeof x === 'string' ? { source: x, target: x } : x))
        .find((x) => x.target === m[1])?.source;
      assert.ok(source, `${service} mounts the secret ${m[1]}`);
      return source;
    };
    const temporalIdentityOf = (name: string): TemporalIdentity | undefined =>
      name === 'setup' || name === 'temporal-namespace'
        ? 'admin'
        : name === 'temporal-ui'
          ? 'temporal-ui'
          : connectsToTemporal(name)
            ? (name as TemporalIdentity)
            : undefined;

    it('makes every secret file the deployment names, and mounts the CA key nowhere', () => {
      const declared = (
        parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8'), {
          merge: true,
        }) as {
          secrets: Record<string, { file: string }>;
        }
      ).secrets;
      for (const [name, { file }] of Object.entries(declared)) {
        assert.match(file, /^\.\/deploy\/secrets\/[^/]+$/, `${name} is a file of deploy/secrets`);
        assert.ok(
          existsSync(path.join(secretsDir, path.basename(file))),
          `npm run deploy:secrets makes ${file}`,
        );
      }
      for (const name of Object.keys(services))
        for (const secret of secretsOf(name))
          assert.ok(secret in declared, `${name} mounts ${secret}, which the file declares`);
      assert.ok(
        !Object.values(declared).some((d) => d.file.endsWith('ca.key')),
        'ca.key stays put',
      );
    });

    it("wants a client certificate of the deployment's CA at Temporal's frontend, and between its roles", () => {
      const ca = new crypto.X509Certificate(readFileSync(path.join(secretsDir, 'ca.crt')));
      for (const [name, svc] of temporalServers) {
        const env = svc.environment ?? {};
        assert.equal(env.TEMPORAL_ALLOW_NO_AUTH, undefined, `${name} runs without authentication`);
        assert.equal(
          env.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH,
          'true',
          `${name} wants client certificates`,
        );
        for (const v of [
          'TEMPORAL_TLS_CLIENT1_CA_CERT',
          'TEMPORAL_TLS_CLIENT2_CA_CERT',
          'TEMPORAL_TLS_SERVER_CA_CERT',
        ])
          assert.equal(mounted(name, env[v]), 'ca.crt', `${name}: ${v} is the deployment's CA`);
        const server = (v: string) =>
          new crypto.X509Certificate(readFileSync(path.join(secretsDir, mounted(name, env[v]))));
        for (const [cert, names] of [
          ['TEMPORAL_TLS_FRONTEND_CERT', env.TEMPORAL_TLS_FRONTEND_SERVER_NAME],
          ['TEMPORAL_TLS_SERVER_CERT', env.TEMPORAL_TLS_INTERNODE_SERVER_NAME],
        ] as const) {
          const x = server(cert);
          assert.ok(x.checkIssued(ca), `${name}: ${cert} is the CA's`);
          assert.ok(
            x.checkHost(names ?? ''),
            `${name}: ${cert} carries the name its clients check`,
          );
        }
        mounted(name, env.TEMPORAL_TLS_FRONTEND_KEY);
        mounted(name, env.TEMPORAL_TLS_SERVER_KEY);
        assert.equal(mounted(name, env.POSTGRES_PWD_FILE), 'temporal-db-password');
      }
    });

    it('gives each process that talks to Temporal a client certificate of its own, and no other process one', () => {
      const given = new Map<string, string>();
      for (const name of Object.keys(services)) {
        const env = services[name]!.environment ?? {};
        const identity = temporalIdentityOf(name);
        const certs = secretsOf(name).filter((x) => x.startsWith('temporal-client-'));
        if (!identity || temporalServers.some(([n]) => n === name)) {
          assert.equal(env.TEMPORAL_TLS_CERT, undefined, `${name} has no Temporal certificate`);
          assert.deepEqual(certs, [], `${name} mounts no Temporal client certificate`);
          continue;
        }
        const own = temporalClientCertificateName(identity);
        assert.equal(
          mounted(name, env.TEMPORAL_TLS_CERT),
          `${own}.crt`,
          `${name} presents its own`,
        );
        assert.equal(mounted(name, env.TEMPORAL_TLS_KEY), `${own}.key`);
        assert.equal(mounted(name, env.TEMPORAL_TLS_CA), 'ca.crt', `${name} checks the frontend's`);
        assert.equal(env.TEMPORAL_TLS_SERVER_NAME, 'temporal');
        assert.deepEqual(certs.sort(), [`${own}.crt`, `${own}.key`], `${name} holds only its own`);
        const cert = new crypto.X509Certificate(readFileSync(path.join(secretsDir, `${own}.crt`)));
        assert.match(cert.subject, new RegExp(`CN=${identity}$`));
        if (name !== 'temporal-namespace') {
          assert.ok(!given.has(own), `${name} and ${given.get(own)} share ${own}`);
          given.set(own, name);
        }
      }
      // The UI server checks the frontend's certificate: without this it would take any.
      assert.equal(
        services['temporal-ui']?.environment?.TEMPORAL_TLS_ENABLE_HOST_VERIFICATION,
        'true',
      );
      assert.ok(given.has(temporalClientCertificateName('temporal-worker')));
    });

    it('publishes every port on 127.0.0.1 only, but the public API', () => {
      for (const [name, svc] of Object.entries(services))
        for (const spec of svc.ports ?? [])
          if (name !== 'api')
            assert.equal(publishedPort(spec).ip, '127.0.0.1', `${name} publishes ${spec}`);
      assert.deepEqual(services['temporal-ui']?.ports ?? [], [], 'the UI server publishes nothing');
    });

    it('lets nothing reach the Temporal UI server but the gate, which signs people in with API keys', () => {
      const uiNetworks = networksOf('temporal-ui');
      assert.ok(!uiNetworks.includes('default'), 'the UI server is not on the app network');
      for (const name of Object.keys(services)) {
        if (!ours(name) || name === 'ui-gate') continue;
        const shared = networksOf(name).filter((n) => uiNetworks.includes(n));
        assert.deepEqual(shared, [], `${name} shares no network with the UI server`);
      }
      const gate = services['ui-gate']!;
      const env = gate.environment ?? {};
      assert.deepEqual(gate.command, ['node', 'dist/workers/ui-gate.js']);
      assert.equal(new URL(env.TEMPORAL_UI_UPSTREAM!).hostname, 'temporal-ui');
      assert.ok(
        networksOf('ui-gate').some((n) => uiNetworks.includes(n)),
        'the gate reaches it',
      );
      assert.equal(mounted('ui-gate', env.SHIPSHAPE_API_KEYS_FILE), 'api-keys');
      const settings = loadConfig(env);
      assert.equal(new URL(settings.temporal.uiUrl).port, String(settings.uiGate.port));
      assert.ok(hostPort('ui-gate').includes(settings.uiGate.port), 'people reach the gate');
    });

    it('gives no app container a superuser credential, nor another process’s', () => {
      const pg = services.postgres!.environment!;
      assert.equal(pg.POSTGRES_PASSWORD, undefined, "the superuser's password is not in clear");
      assert.equal(mounted('postgres', pg.POSTGRES_PASSWORD_FILE), 'postgres-password');
      const holders = (secret: string) =>
        Object.keys(services).filter((n) => secretsOf(n).includes(secret));
      assert.deepEqual(holders('postgres-password'), ['postgres']);
      assert.deepEqual(holders('migrator-password'), ['postgres', 'setup']);
      assert.deepEqual(holders('temporal-db-password').sort(), [
        'postgres',
        'temporal-1',
        'temporal-2',
        'temporal-schema',
      ]);
      assert.deepEqual(holders('admin-password').sort(), ['nats-1', 'nats-2', 'nats-3', 'setup']);
      for (const name of ['temporal-schema', ...temporalNames])
        assert.notEqual(services[name]!.environment!.POSTGRES_USER, pg.POSTGRES_USER);
      for (const [name, svc] of app) {
        const env = svc.environment ?? {};
        assert.equal(env.MIGRATION_DATABASE_URL, undefined, `${name} holds no migration URL`);
        const own = isProcessIdentity(name) ? name : name === 'setup' ? 'migrator' : undefined;
        if (!own) {
          assert.equal(env.DATABASE_URL, undefined, `${name} has no database to reach`);
          assert.equal(env.DATABASE_PASSWORD_FILE, undefined);
          continue;
        }
        const url = new URL(env.DATABASE_URL!);
        assert.equal(url.username, loginRoleOf(own), `${name} logs in as its own role`);
        assert.equal(url.password, '', `${name}'s password is not in its environment`);
        assert.equal(mounted(name, env.DATABASE_PASSWORD_FILE), `${own}-password`);
        for (const secret of secretsOf(name).filter((x) => x.endsWith('-password')))
          assert.ok(
            [`${own}-password`, ...(name === 'setup' ? ['admin-password'] : [])].includes(secret),
            `${name} holds ${secret}`,
          );
      }
      const init = readFileSync(path.join(projectRoot, 'deploy', 'postgres-init.sql'), 'utf8');
      assert.match(init, /CREATE DATABASE temporal OWNER temporal;/);
      assert.match(init, /CREATE DATABASE temporal_visibility OWNER temporal;/);
    });

    it('mounts the payload keys only where payloads are encrypted or decrypted', () => {
      for (const [name, svc] of app) {
        const needs = holdsPayloadKeys(name);
        assert.equal(secretsOf(name).includes('payload-keys'), needs, `${name}: payload-keys`);
        assert.equal(
          svc.environment?.SHIPSHAPE_PAYLOAD_KEYS_FILE !== undefined,
          needs,
          `${name}: SHIPSHAPE_PAYLOAD_KEYS_FILE`,
        );
      }
    });

    it('mounts the data keys only where personal data is sealed or opened: the API and shipping', () => {
      for (const [name, svc] of app) {
        const needs = name === 'api' || name === 'shipping';
        assert.equal(secretsOf(name).includes('data-keys'), needs, `${name}: data-keys`);
        assert.equal(
          svc.environment?.SHIPSHAPE_DATA_KEYS_FILE !== undefined,
          needs,
          `${name}: SHIPSHAPE_DATA_KEYS_FILE`,
        );
      }
    });

    it('routes between NATS nodes only over mutual TLS, from a peer showing the route certificate', () => {
      const cluster = /\ncluster\s*\{([\s\S]*)\n\}/.exec(natsConf)?.[1] ?? '';
      const block = (name: string) =>
        new RegExp(`\\b${name}\\s*\\{([^}]*)\\}`).exec(cluster)?.[1] ?? '';
      const tls = block('tls');
      assert.match(tls, /verify_and_map:\s*true/, 'routes want a certificate and map its subject');
      const file = (key: string) =>
        /\/run\/secrets\/(\S+)/.exec(new RegExp(`${key}:\\s*(\\S+)`).exec(tls)?.[1] ?? '')?.[1];
      assert.equal(file('ca_file'), 'ca.crt');
      assert.match(block('authorization'), new RegExp(`user:\\s*"${CLUSTER_ROUTE_USER}"`));
      const ca = new crypto.X509Certificate(readFileSync(path.join(secretsDir, 'ca.crt')));
      for (const node of NATS_NODES) {
        const cert = mounted(node, `/run/secrets/${file('cert_file')}`);
        assert.equal(cert, `${natsRouteCertificateName(node)}.crt`, `${node} shows its own`);
        assert.equal(
          mounted(node, `/run/secrets/${file('key_file')}`),
          `${natsRouteCertificateName(node)}.key`,
        );
        const x = new crypto.X509Certificate(readFileSync(path.join(secretsDir, cert)));
        assert.ok(x.checkIssued(ca));
        assert.equal(`CN=${x.subject.split('=')[1]}`, CLUSTER_ROUTE_USER, `${node}'s route user`);
        assert.ok(
          x.checkHost(node),
          `${node}'s certificate carries its name, which its peers check`,
        );
      }
    });

    it('starts the codec server over HTTPS, with the API keys that say who may decode', () => {
      const env = services['codec-server']!.environment!;
      const settings = loadConfig(env);
      assert.ok(settings.codecServer.tls, 'the codec server has a certificate');
      mounted('codec-server', env.CODEC_TLS_CERT);
      mounted('codec-server', env.CODEC_TLS_KEY);
      assert.equal(mounted('codec-server', env.SHIPSHAPE_API_KEYS_FILE), 'api-keys');
      const endpoint = new URL(services['temporal-ui']!.environment!.TEMPORAL_CODEC_ENDPOINT!);
      assert.equal(endpoint.protocol, 'https:', "the UI's codec endpoint is HTTPS");
      assert.ok(hostPort('codec-server').includes(Number(endpoint.port)));
      const cert = new crypto.X509Certificate(
        readFileSync(path.join(secretsDir, mounted('codec-server', env.CODEC_TLS_CERT))),
      );
      assert.ok(
        cert.checkHost(endpoint.hostname),
        'its certificate carries the name browsers check',
      );
    });

    it('scrapes the API with a key of the metrics scope alone', () => {
      const keys = parseApiKeys(readFileSync(path.join(secretsDir, 'api-keys'), 'utf8'));
      const prometheus = findApiKey(
        keys,
        readFileSync(path.join(secretsDir, 'prometheus-api-key'), 'utf8').trim(),
      );
      assert.ok(prometheus, "Prometheus's key is one of the API's");
      assert.deepEqual(prometheus.scopes, ['metrics']);
      assert.ok(secretsOf('prometheus').includes('prometheus-api-key'));
    });
  });
});
