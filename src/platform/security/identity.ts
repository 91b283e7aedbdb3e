import { readFileSync } from 'node:fs';
import path from 'node:path';
import { credsAuthenticator } from '@nats-io/transport-node';
import type { ConnectionOptions } from '@nats-io/transport-node';
import type { Config } from '../config';
import { ConfigError } from '../config';
import { loginRoleOf, PG_DATABASE } from '../db/roles';
import type { DatabaseIdentity } from '../db/roles';
import { localSecretsPath, readLocalSecrets } from './local-secrets';
import type { ProcessIdentity } from '../../processes/table';

/**
 * How a process connects as itself. A deployment names its credentials in configuration (NATS_USER,
 * NATS_PASSWORD[_FILE] or NATS_CREDS_FILE, NATS_TLS_*; DATABASE_URL with DATABASE_PASSWORD_FILE,
 * MIGRATION_DATABASE_URL); otherwise the local stack's per-process credentials (secrets.json) are
 * used. Passwords are read here, when connecting, and never kept in the config or logged.
 */

export type { DatabaseIdentity };
/** `admin` creates and changes streams and consumers; no app process has that right. */
export type NatsIdentity = ProcessIdentity | 'admin';

/** Each identity's request inboxes live under its own prefix, so it may subscribe to its own replies only. */
export const inboxPrefixOf = (identity: NatsIdentity): string => `_INBOX.${identity}`;

function readSecretFile(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(
      `${setting} names ${file}, which cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function localSecretsOrFail(config: Config, what: string) {
  const secrets = readLocalSecrets(config.stack.dir);
  if (!secrets)
    throw new ConfigError(
      `no ${what} credentials: ${localSecretsPath(config.stack.dir)} does not exist; run \`shipshape stack up\` or configure them (see docs/security.md)`,
    );
  return secrets;
}

/** Connection options for `identity`: servers, credentials, TLS and its inbox prefix. */
export function natsOptionsFor(config: Config, identity: NatsIdentity): ConnectionOptions {
  const n = config.nats;
  const opts: ConnectionOptions = {
    servers: n.servers,
    name: `shipshape-${identity}`,
    inboxPrefix: inboxPrefixOf(identity),
  };
  if (n.credsFile) {
    const creds = readSecretFile(n.credsFile, 'NATS_CREDS_FILE');
    opts.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
  } else if (n.user) {
    const pass =
      n.password ??
      (n.passwordFile ? readSecretFile(n.passwordFile, 'NATS_PASSWORD_FILE') : undefined);
    if (pass === undefined)
      throw new ConfigError('NATS_USER is set without NATS_PASSWORD or NATS_PASSWORD_FILE');
    opts.user = n.user;
    opts.pass = pass;
  } else if (n.password || n.passwordFile) {
    throw new ConfigError('NATS_PASSWORD or NATS_PASSWORD_FILE is set without NATS_USER');
  } else {
    // No credentials configured: the local stack's user of this identity, when there is a local stack.
    const secrets = readLocalSecrets(config.stack.dir);
    if (secrets) {
      opts.user = identity;
      opts.pass = secrets.nats[identity];
    }
  }
  if (Boolean(n.tls.cert) !== Boolean(n.tls.key))
    throw new ConfigError(
      'NATS_TLS_CERT and NATS_TLS_KEY go together (a client certificate and its key)',
    );
  if (n.tls.ca || n.tls.cert) {
    opts.tls = {
      ...(n.tls.ca ? { caFile: path.resolve(n.tls.ca) } : {}),
      ...(n.tls.cert
        ? { certFile: path.resolve(n.tls.cert), keyFile: path.resolve(n.tls.key!) }
        : {}),
    };
  }
  return opts;
}

/** The URL with `password` set, unless it carries one already. */
function withPassword(url: string, password: string | undefined, setting: string): string {
  if (password === undefined) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${setting} is not a URL`);
  }
  if (u.password) return url;
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * The PostgreSQL URL `identity` connects with. With DATABASE_URL set (a deployment, or one's own
 * PostgreSQL), that URL is the process's own; the migrator uses MIGRATION_DATABASE_URL when set.
 * Without it, the local stack's login role of that identity.
 */
export function databaseUrlFor(config: Config, identity: DatabaseIdentity): string {
  const db = config.database;
  if (!config.stack.managesPostgres) {
    if (identity === 'migrator' && db.migrationUrl) return db.migrationUrl;
    const password = db.passwordFile
      ? readSecretFile(db.passwordFile, 'DATABASE_PASSWORD_FILE')
      : undefined;
    return withPassword(db.url, password, 'DATABASE_URL');
  }
  if (identity === 'migrator' && db.migrationUrl) return db.migrationUrl;
  const secrets = localSecretsOrFail(config, 'PostgreSQL');
  const role = encodeURIComponent(loginRoleOf(identity));
  const password = encodeURIComponent(secrets.postgres[identity]);
  return `postgres://${role}:${password}@127.0.0.1:${config.stack.ports.postgres}/${PG_DATABASE}`;
}

/** A URL fit for a log line or an error: the password replaced. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
