import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICES } from '../../src/domain/types';
import type { ServiceName } from '../../src/domain/types';
import {
  ADVISORY_STREAM,
  COMMAND_STREAM,
  REPLY_STREAM,
  serviceCommandFilter,
  trailOf,
} from '../../src/platform/messaging/subjects';
import { ALL_STREAMS } from '../../src/platform/messaging/topology';
import { consumersPulledBy } from '../../src/processes/table';
import { querySubject, serviceQueries } from '../../src/services/core/queries';
import type { QueryName } from '../../src/services/core/queries';
import { inboxPrefixOf } from '../../src/platform/security/identity';
import type { NatsIdentity } from '../../src/platform/security/identity';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import type { LocalSecrets } from '../../src/platform/security/local-secrets';
import { PROCESS_IDENTITIES } from '../../src/processes/table';

export interface NatsPaths {
  dir: string;
  configFile: string;
  logFile: string;
  storeDir: string;
}

export function natsPaths(stackDir: string): NatsPaths {
  const dir = path.join(stackDir, 'nats');
  return {
    dir,
    configFile: path.join(dir, 'nats.conf'),
    logFile: path.join(dir, 'nats.log'),
    storeDir: path.join(dir, 'jetstream'),
  };
}

/** The account the app's streams and users live in. */
export const APP_ACCOUNT = 'SHIPSHAPE';

export interface NatsPermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
  /** May answer the requests it receives (once each), and publish nothing else for it. */
  allowResponses?: boolean;
}

/**
 * What no app user may ask of JetStream: make, change, delete or purge streams and consumers, or
 * delete, snapshot or restore their data. Only `admin` (the setup step) manages the topology.
 */
export const JETSTREAM_ADMIN_SUBJECTS = [
  '$JS.API.STREAM.CREATE.>',
  '$JS.API.STREAM.UPDATE.>',
  '$JS.API.STREAM.DELETE.>',
  '$JS.API.STREAM.PURGE.>',
  '$JS.API.STREAM.MSG.DELETE.>',
  '$JS.API.STREAM.SNAPSHOT.>',
  '$JS.API.STREAM.RESTORE.>',
  '$JS.API.STREAM.PEER.REMOVE.>',
  '$JS.API.STREAM.LEADER.STEPDOWN.>',
  '$JS.API.CONSUMER.CREATE.>',
  '$JS.API.CONSUMER.DURABLE.CREATE.>',
  '$JS.API.CONSUMER.DELETE.>',
  '$JS.API.CONSUMER.PAUSE.>',
  '$JS.API.CONSUMER.LEADER.STEPDOWN.>',
  '$JS.API.ACCOUNT.PURGE.>',
  '$JS.API.META.>',
  '$JS.API.SERVER.>',
];

/** Pulling from one durable consumer: its info, its next messages, acks of what it was given. */
const pullFrom = (stream: string, consumer: string): string[] => [
  `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
  `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
  `$JS.ACK.${stream}.${consumer}.>`,
  // The longer ack subject form (domain and account hash first) newer servers may hand out.
  `$JS.ACK.*.*.${stream}.${consumer}.>`,
];

/**
 * Reading the backlog: every consumer's info, the oldest pending message of each work stream, and
 * each stream's size against its byte limit.
 */
const readBacklog = (): string[] => [
  '$JS.API.CONSUMER.INFO.>',
  ...[COMMAND_STREAM, REPLY_STREAM, ADVISORY_STREAM].map((s) => `$JS.API.DIRECT.GET.${s}`),
  ...ALL_STREAMS.map((s) => `$JS.API.STREAM.INFO.${s}`),
];

/** Pulling from every consumer the identity's process reads. */
const pullsOf = (identity: NatsIdentity): string[] =>
  consumersPulledBy(identity).flatMap(([stream, consumer]) => pullFrom(stream, consumer));

const commandsOf = serviceCommandFilter;
const repliesOf = (service: ServiceName) => `reply.${service}.>`;
/** Asking every service one question about its own tables (src/services/core/queries.ts). */
const askingAll = (query: QueryName) => SERVICES.map((s) => querySubject(s, query));

/**
 * The subjects each identity may publish and subscribe to. Publishing a JetStream message is a
 * request: the acknowledgement comes back on the identity's own inbox prefix, the only thing it may
 * subscribe to (pull consumers deliver there too).
 */
export function natsPermissions(identity: NatsIdentity): NatsPermissions {
  const inbox = `${inboxPrefixOf(identity)}.>`;
  if (identity === 'admin') {
    // The operator: manages the topology and may inspect or inject anything in the app's account.
    return {
      publish: { allow: ['>'], deny: [] },
      subscribe: { allow: [inbox], deny: [] },
    };
  }
  const publish = ((): string[] => {
    switch (identity) {
      case 'inventory':
      case 'payment':
      case 'loyalty':
      case 'shipping':
        return [...pullsOf(identity), repliesOf(identity)];
      case 'temporal-worker':
        // A reconcile asks the owning service for its record of a command.
        return [...SERVICES.map(commandsOf), ...askingAll('record')];
      case 'reply-bridge':
        return [
          ...pullsOf(identity),
          // A dead letter's original message is read back from its stream's trail by sequence.
          ...[COMMAND_STREAM, REPLY_STREAM].flatMap((s) => [
            `$JS.API.STREAM.MSG.GET.${trailOf(s)}`,
            `$JS.API.STREAM.INFO.${trailOf(s)}`,
          ]),
        ];
      case 'outbox-relay':
        return SERVICES.map(repliesOf);
      case 'reconciler':
        // What each service still holds of orders that ended (their cleanups are workflows).
        return askingAll('holds');
      case 'api':
        return [
          ...readBacklog(),
          querySubject('inventory', 'stock.get'),
          querySubject('inventory', 'stock.set'),
          querySubject('loyalty', 'points'),
        ];
      case 'cli':
        // `backlog`, `order reconcile --stuck-for` and `dlq replay` (to a command's or a reply's subject).
        return [...readBacklog(), ...SERVICES.map(commandsOf), ...SERVICES.map(repliesOf)];
    }
  })();
  const isService = (SERVICES as readonly string[]).includes(identity);
  return {
    publish: { allow: ['$JS.API.INFO', ...publish], deny: JETSTREAM_ADMIN_SUBJECTS },
    // A service also takes the questions about its own tables, and answers them.
    subscribe: {
      allow: [inbox, ...(isService ? [serviceQueries(identity as ServiceName)] : [])],
      deny: [],
    },
    ...(isService ? { allowResponses: true } : {}),
  };
}

const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

/** The environment variable a deployment's NATS server reads `identity`'s password from. */
export const natsPasswordVariable = (identity: NatsIdentity): string =>
  `NATS_PASSWORD_${identity.replace(/-/g, '_').toUpperCase()}`;

function userEntry(user: NatsIdentity, password: string | { variable: string }): string {
  const p = natsPermissions(user);
  const part = (name: string, rule: { allow: string[]; deny: string[] }) =>
    `${name}: { allow: ${list(rule.allow)}${rule.deny.length ? `, deny: ${list(rule.deny)}` : ''} }`;
  // nats-server resolves an unquoted $NAME from its environment.
  const pw = typeof password === 'string' ? JSON.stringify(password) : `$${password.variable}`;
  return [
    `      { user: ${JSON.stringify(user)}, password: ${pw},`,
    `        permissions: {`,
    `          ${part('publish', p.publish)},`,
    `          ${part('subscribe', p.subscribe)}${p.allowResponses ? ',' : ''}`,
    ...(p.allowResponses ? [`          allow_responses: true`] : []),
    `        } }`,
  ].join('\n');
}

/**
 * The `accounts { … }` section of a server configuration: the app's account with JetStream, one user
 * per identity with its permissions, and the system account. Shared by the single local server and
 * a local cluster, so every node knows the same users. `from-environment` writes each password as a
 * variable (NATS_PASSWORD_<IDENTITY>) for a deployment's servers (deploy/nats/accounts.conf).
 */
export function natsAccountsConfig(secrets: LocalSecrets | 'from-environment'): string {
  const ids: NatsIdentity[] = [...PROCESS_IDENTITIES, 'admin'];
  const users = ids.map((id): [NatsIdentity, string | { variable: string }] => [
    id,
    secrets === 'from-environment' ? { variable: natsPasswordVariable(id) } : secrets.nats[id],
  ]);
  return [
    `accounts {`,
    `  ${APP_ACCOUNT}: {`,
    `    jetstream: enabled`,
    `    users: [`,
    users.map(([u, pw]) => userEntry(u, pw)).join(',\n'),
    `    ]`,
    `  }`,
    // Holds the server's own traffic; no user logs in to it.
    `  SYS: {}`,
    `}`,
    `system_account: SYS`,
  ].join('\n');
}

/**
 * Writes the server's configuration: loopback only, JetStream on file storage that is
 * fsynced on every write (`sync_interval: always`), so an acknowledged publish survives a crash;
 * the accounts and users of the stack's secrets. The file holds passwords: readable by its owner only.
 */
export function writeNatsConfig(stackDir: string, port: number, monitorPort: number): NatsPaths {
  const p = natsPaths(stackDir);
  mkdirSync(p.storeDir, { recursive: true });
  const secrets = ensureLocalSecrets(stackDir);
  writeFileSync(
    p.configFile,
    [
      `server_name: shipshape_local`,
      `listen: 127.0.0.1:${port}`,
      `http: 127.0.0.1:${monitorPort}`,
      `jetstream {`,
      `  store_dir: ${JSON.stringify(p.storeDir)}`,
      `  sync_interval: always`,
      `}`,
      natsAccountsConfig(secrets),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  chmodSync(p.configFile, 0o600);
  return p;
}

export async function natsAnswers(monitorPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`, {
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}
