import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresBinDir } from './binaries';
import { waitFor } from '../../src/platform/wait';
import { isAlive, tailFile } from './process';
import { groupRoleOf, loginRoleOf, MIGRATOR_ROLE } from '../../src/platform/db/roles';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import { PROCESS_IDENTITIES } from '../../src/processes/table';
import { PG_DATABASE } from '../../src/platform/db/roles';

const run = promisify(execFile);

export const PG_USER = 'shipshape';
export { PG_DATABASE };

export interface PostgresPaths {
  dataDir: string;
  logFile: string;
  /** The bootstrap superuser's password (mode 0600); only the stack's own tooling uses that role. */
  superuserPasswordFile: string;
}

export function postgresPaths(stackDir: string): PostgresPaths {
  return {
    dataDir: path.join(stackDir, 'postgres', 'data'),
    logFile: path.join(stackDir, 'postgres', 'postgres.log'),
    superuserPasswordFile: path.join(stackDir, 'postgres', 'superuser-password'),
  };
}

/** Reads the superuser's password, making it first if there is none. */
function ensureSuperuserPassword(stackDir: string): string {
  const file = postgresPaths(stackDir).superuserPasswordFile;
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      writeFileSync(file, crypto.randomBytes(24).toString('base64url'), {
        mode: 0o600,
        flag: 'wx',
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readFileSync(file, 'utf8').trim();
}

function superuserClient(stackDir: string, port: number, database = 'postgres'): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port,
    user: PG_USER,
    password: ensureSuperuserPassword(stackDir),
    database,
    connectionTimeoutMillis: 10_000,
  });
}

/** Every connection authenticates with a password; there is no unix socket. */
const PG_HBA = [
  '# Written by shipshape (tooling/stack/postgres.ts): every connection authenticates with a password.',
  'host all all 127.0.0.1/32 scram-sha-256',
  'host all all ::1/128 scram-sha-256',
  '',
].join('\n');

/**
 * The local stack's roles, from its secrets: the migrator (owns the database and its schemas) and,
 * per process, a NOLOGIN group role (migration 002 grants it its rights) and a login role in it.
 * Passwords are set again each time, so they always match secrets.json. Then password
 * authentication is switched on. Idempotent; also brings a stack made before roles existed up to date
 * (its tables are handed to the migrator).
 */
export async function ensureLocalRoles(stackDir: string, port: number): Promise<void> {
  const secrets = ensureLocalSecrets(stackDir);
  const client = superuserClient(stackDir, port, PG_DATABASE);
  await client.connect();
  const lit = (v: string) => client.escapeLiteral(v);
  const ident = (v: string) => client.escapeIdentifier(v);
  const roleExists = async (role: string) =>
    Boolean((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount);
  try {
    await client.query(
      `ALTER ROLE ${ident(PG_USER)} PASSWORD ${lit(ensureSuperuserPassword(stackDir))}`,
    );
    const migrator = ident(MIGRATOR_ROLE);
    if (!(await roleExists(MIGRATOR_ROLE))) await client.query(`CREATE ROLE ${migrator}`);
    await client.query(
      `ALTER ROLE ${migrator} LOGIN CREATEROLE PASSWORD ${lit(secrets.postgres.migrator)}`,
    );
    await client.query(`ALTER DATABASE ${ident(PG_DATABASE)} OWNER TO ${migrator}`);
    for (const id of PROCESS_IDENTITIES) {
      const group = groupRoleOf(id);
      const login = loginRoleOf(id);
      if (!(await roleExists(group))) await client.query(`CREATE ROLE ${ident(group)} NOLOGIN`);
      if (!(await roleExists(login))) await client.query(`CREATE ROLE ${ident(login)}`);
      await client.query(
        `ALTER ROLE ${ident(login)} LOGIN NOCREATEDB NOCREATEROLE PASSWORD ${lit(secrets.postgres[id])}`,
      );
      await client.query(`GRANT ${ident(group)} TO ${ident(login)}`);
      // The migrator grants each group its rights, and may hand out membership (deployments add logins).
      await client.query(`GRANT ${ident(group)} TO ${migrator} WITH ADMIN OPTION`);
    }
    // A stack whose schemas the bootstrap superuser made: hand them to the migrator.
    await client.query(`DO $$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT nspname FROM pg_namespace
                 WHERE left(nspname, 3) <> 'pg_' AND nspname NOT IN ('information_schema', 'public')
                   AND nspowner <> ${lit(MIGRATOR_ROLE)}::regrole LOOP
          EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, ${lit(MIGRATOR_ROLE)});
        END LOOP;
        FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'p')
                   AND c.relowner <> ${lit(MIGRATOR_ROLE)}::regrole
                   AND ((left(n.nspname, 3) <> 'pg_' AND n.nspname NOT IN ('information_schema', 'public'))
                        OR (n.nspname = 'public' AND c.relname = 'schema_migrations')) LOOP
          EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', r.nspname, r.relname, ${lit(MIGRATOR_ROLE)});
        END LOOP;
      END $$`);
    const hba = path.join(postgresPaths(stackDir).dataDir, 'pg_hba.conf');
    if (!existsSync(hba) || readFileSync(hba, 'utf8') !== PG_HBA) {
      writeFileSync(hba, PG_HBA, { mode: 0o600 });
      giveToServerUser(hba);
      await client.query('SELECT pg_reload_conf()');
    }
  } finally {
    await client.end();
  }
}

/** initdb and the server refuse to run as root; on a root shell they run as Debian's `postgres` user. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  return [cmd, args];
}

async function pgTool(tool: string, args: string[]): Promise<string> {
  const [cmd, argv] = asServerUser(path.join(postgresBinDir(), tool), args);
  const { stdout } = await run(cmd, argv, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

function giveToServerUser(p: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = serverUserIds();
  chownSync(p, uid, gid);
}

function serverUserIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new Error('running as root but there is no "postgres" user to run PostgreSQL as');
  const parts = line.split(':');
  return { uid: Number(parts[2]), gid: Number(parts[3]) };
}

/** The postmaster's pid while our cluster runs. */
export function postgresPid(stackDir: string): number | undefined {
  const pidFile = path.join(postgresPaths(stackDir).dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && isAlive(pid) ? pid : undefined;
}

export async function postgresAnswers(port: number): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: PG_USER,
    database: 'postgres',
    connectionTimeoutMillis: 2000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (err) {
    // Asking us for a password (which this probe does not send) is an answer: the server is up.
    const e = err as { code?: string; message?: string };
    return e.code === '28P01' || e.code === '28000' || /SASL|password/i.test(e.message ?? '');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates (once) and starts a private cluster on its own port; returns its pid. */
export async function startPostgres(
  stackDir: string,
  port: number,
  log: (l: string) => void,
): Promise<number> {
  const { dataDir, logFile } = postgresPaths(stackDir);
  const parent = path.dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  giveToServerUser(parent);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising a PostgreSQL cluster in ${dataDir}`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    giveToServerUser(dataDir);
    ensureSuperuserPassword(stackDir);
    giveToServerUser(postgresPaths(stackDir).superuserPasswordFile);
    await pgTool('initdb', [
      '-D',
      dataDir,
      '-U',
      PG_USER,
      '-A',
      'scram-sha-256',
      `--pwfile=${postgresPaths(stackDir).superuserPasswordFile}`,
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
    ]);
    // Full durability is the point: fsync and synchronous_commit stay on (the defaults), said here so nobody "tunes" them.
    writeFileSync(
      path.join(dataDir, 'postgresql.auto.conf'),
      [
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = ''`,
        `max_connections = 300`,
        `fsync = on`,
        `synchronous_commit = on`,
        `shared_buffers = '256MB'`,
        '',
      ].join('\n'),
    );
    giveToServerUser(path.join(dataDir, 'postgresql.auto.conf'));
  }
  if (!existsSync(logFile)) writeFileSync(logFile, '');
  giveToServerUser(logFile);
  try {
    await pgTool('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      logFile,
      '-o',
      `-p ${port}`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
  } catch (err) {
    throw new Error(
      `PostgreSQL did not start (${(err as Error).message.split('\n')[0]}); log tail:\n${tailFile(logFile)}`,
      { cause: err },
    );
  }
  await ensureDatabase(stackDir, port);
  await ensureLocalRoles(stackDir, port);
  const pid = postgresPid(stackDir);
  if (pid === undefined)
    throw new Error(`PostgreSQL started but wrote no pid; log tail:\n${tailFile(logFile)}`);
  return pid;
}

async function ensureDatabase(stackDir: string, port: number): Promise<void> {
  const client = superuserClient(stackDir, port);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      PG_DATABASE,
    ]);
    if (!rowCount) await client.query(`CREATE DATABASE ${PG_DATABASE}`);
  } finally {
    await client.end();
  }
}

/**
 * A login role that owns databases of its own in the stack's cluster, for a server that keeps its data
 * there (a Temporal cluster) apart from Shipshape's. The password is set again each time; `fresh`
 * drops the databases first (nothing may be connected to them).
 */
export async function ensureOwnedDatabases(
  stackDir: string,
  port: number,
  owner: { role: string; password: string },
  databases: string[],
  fresh: boolean,
): Promise<void> {
  const client = superuserClient(stackDir, port);
  await client.connect();
  const ident = (v: string) => client.escapeIdentifier(v);
  try {
    const role = ident(owner.role);
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner.role]);
    if (!exists.rowCount) await client.query(`CREATE ROLE ${role}`);
    await client.query(
      `ALTER ROLE ${role} LOGIN NOCREATEDB NOCREATEROLE PASSWORD ${client.escapeLiteral(owner.password)}`,
    );
    for (const db of databases) {
      if (fresh) await client.query(`DROP DATABASE IF EXISTS ${ident(db)} WITH (FORCE)`);
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!rowCount) await client.query(`CREATE DATABASE ${ident(db)} OWNER ${role}`);
    }
  } finally {
    await client.end();
  }
}

export async function stopPostgres(
  stackDir: string,
  mode: 'fast' | 'immediate' = 'fast',
): Promise<void> {
  const { dataDir } = postgresPaths(stackDir);
  const pid = postgresPid(stackDir);
  if (pid === undefined) return;
  await pgTool('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  await waitFor('PostgreSQL to exit', () => !isAlive(pid), { timeoutMs: 30_000 });
}
