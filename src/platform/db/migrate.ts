import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { migrationsDir } from '../paths';

/** Any fixed number: serialises concurrent start-ups so only one applies migrations. */
const MIGRATION_LOCK = 0x5315_05a9;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => ({
      version: Number(f.split('_')[0]),
      name: f,
      sql: readFileSync(path.join(dir, f), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
}

/** Applies numbered SQL files not yet applied, each in its own transaction. Idempotent. */
export async function migrate(
  pool: pg.Pool,
  log: (line: string) => void = () => undefined,
): Promise<number> {
  const client = await pool.connect();
  let applied = 0;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS public.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (
        await client.query<{ version: number }>('SELECT version FROM public.schema_migrations')
      ).rows.map((r) => r.version),
    );
    for (const m of loadMigrations()) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO public.schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      log(`applied migration ${m.name}`);
      applied++;
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** The database is not at the schema version this code needs; names what to run. */
export class SchemaNotReadyError extends Error {
  override name = 'SchemaNotReadyError';
}

/**
 * Checks, with the caller's own (limited) role, that every migration this code ships has been applied.
 * Processes call it at start instead of migrating: that is the setup step's job, with the migrator's rights.
 */
export async function assertMigrated(pool: pg.Pool, setupHint: string): Promise<void> {
  const latest = loadMigrations().at(-1);
  if (!latest) return;
  let current: number;
  try {
    const { rows } = await pool.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM public.schema_migrations',
    );
    current = rows[0]?.v ?? 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42P01')
      throw new SchemaNotReadyError(
        `the database has no Shipshape tables (public.schema_migrations is missing): ${setupHint}`,
      );
    if (code === '42501')
      throw new SchemaNotReadyError(
        `this role may not read public.schema_migrations (its grants come with migration 002): ${setupHint}`,
      );
    throw err;
  }
  if (current < latest.version)
    throw new SchemaNotReadyError(
      `the database is at migration ${current}, this code needs ${latest.version} (${latest.name}): ${setupHint}`,
    );
}
