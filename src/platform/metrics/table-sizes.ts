import type { Pool } from 'pg';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * The size of each table a process prunes, read when scraped (PostgreSQL's live-row estimate and the
 * table's bytes with its indexes), and the rows it pruned: together they show the retention at work.
 */
export function retentionMetrics(registry: Registry, pool: Pool, tables: readonly string[]) {
  const sizes = async () =>
    (
      await pool.query<{ name: string; rows: number; bytes: number }>(
        `SELECT t.name, coalesce(s.n_live_tup, 0)::bigint AS rows,
                pg_total_relation_size(t.name::regclass) AS bytes
         FROM unnest($1::text[]) AS t(name)
         LEFT JOIN pg_stat_user_tables s ON s.relid = t.name::regclass`,
        [tables],
      )
    ).rows;
  let cached: { at: number; rows: ReturnType<typeof sizes> } | undefined;
  const read = () => {
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), rows: sizes() };
    return cached.rows;
  };
  for (const [name, help, value] of [
    ['shipshape_table_rows', 'Rows in a table the process prunes (estimate)', 'rows'],
    ['shipshape_table_bytes', 'Bytes of a table the process prunes, indexes included', 'bytes'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['table'] as const,
      registers: [registry],
      async collect() {
        for (const r of await read()) this.set({ table: r.name }, r[value]);
      },
    });
  }
  const pruned = new Counter({
    name: 'shipshape_pruned_rows_total',
    help: 'Rows pruned past their retention, by table',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  // Every table's series from the start, so that the first rows pruned show as an increase.
  for (const table of tables) pruned.inc({ table }, 0);
  return { pruned };
}
export type RetentionMetrics = ReturnType<typeof retentionMetrics>;
