import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresBinDir } from './binaries';
import { waitFor } from '../wait';
import { isAlive, tailFile } from './process';

const run = promisify(execFile);

export const PG_USER = 'shipshape';
export const PG_DATABASE = 'shipshape';

export interface PostgresPaths {
  dataDir: string;
  logFile: string;
}

export function postgresPaths(stackDir: string): PostgresPaths {
  return {
    dataDir: path.join(stackDir, 'postgres', 'data'),
    logFile: path.join(stackDir, 'postgres', 'postgres.log'),
  };
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
  } catch {
    return false;
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
    await pgTool('initdb', [
      '-D',
      dataDir,
      '-U',
      PG_USER,
      '-A',
      'trust',
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
  await ensureDatabase(port);
  const pid = postgresPid(stackDir);
  if (pid === undefined)
    throw new Error(`PostgreSQL started but wrote no pid; log tail:\n${tailFile(logFile)}`);
  return pid;
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: PG_USER, database: 'postgres' });
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
