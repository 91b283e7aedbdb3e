import type { Pool } from 'pg';
import { runPeriodically } from '../periodic';
import type { Logger } from '../logger';

/**
 * Batches one pruning round makes at most: a backlog of old rows (the first round on a full
 * database) is worked off over rounds, each batch a short transaction of its own.
 */
const MAX_BATCHES_PER_ROUND = 1000;

/**
 * Runs a pruning job every `periodMs` (and once at start): `pruneBatch` removes a batch (sized by
 * `batch`) of what is past its retention, in a transaction of its own, and answers whether more may
 * remain; a round goes on until none may. A failed round is logged and the next one comes as usual.
 */
export function startPruning(opts: {
  what: string;
  pruneBatch: (batch: number) => Promise<boolean>;
  batch: number;
  periodMs: number;
  log: Logger;
}): { stop(): Promise<void> } {
  return runPeriodically(
    async () => {
      for (let i = 0; i < MAX_BATCHES_PER_ROUND; i++)
        if (!(await opts.pruneBatch(opts.batch))) break;
    },
    opts.periodMs,
    (err) => opts.log.error({ err }, `pruning ${opts.what} failed; the next round tries again`),
  );
}

/**
 * Writes the retention floor (migration 007): the database refuses to delete a record that
 * deduplication may still need, one younger than this, whatever role asks. Setup writes it from the
 * configuration, with the migrator's rights.
 */
export async function setRetentionFloor(pool: Pool, hours: number): Promise<void> {
  await pool.query('UPDATE public.retention_floor SET hours = $1', [hours]);
}
