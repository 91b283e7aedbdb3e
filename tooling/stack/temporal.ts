import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../src/platform/temporal/search-attributes';

export interface TemporalPaths {
  dir: string;
  dbFile: string;
  logFile: string;
}

export function temporalPaths(stackDir: string): TemporalPaths {
  const dir = path.join(stackDir, 'temporal');
  return { dir, dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') };
}

export function temporalArgs(
  stackDir: string,
  ports: {
    temporal: number;
    temporalUi: number;
    temporalHttp: number;
    temporalMetrics: number;
    codecServer: number;
  },
  namespace: string,
  extraDynamicConfig: Record<string, string | number | boolean> = {},
): string[] {
  const p = temporalPaths(stackDir);
  mkdirSync(p.dir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(ports.temporal),
    '--ui-port',
    String(ports.temporalUi),
    '--http-port',
    String(ports.temporalHttp),
    '--metrics-port',
    String(ports.temporalMetrics),
    '--db-filename',
    p.dbFile,
    '--sqlite-pragma',
    'journal_mode=wal',
    '--log-level',
    'warn',
    // The UI decodes payloads through the codec server that `shipshape run` starts (workers/codec-server.ts).
    '--ui-codec-endpoint',
    `http://127.0.0.1:${ports.codecServer}/codec`,
  ];
  for (const [key, value] of Object.entries({ ...TEMPORAL_DYNAMIC_CONFIG, ...extraDynamicConfig }))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  return args;
}

/**
 * The dev server's settings that cost us work per order. Our search attributes are made once at start, so
 * the dev server's re-read of them on every request that carries one (its default, for people who add
 * them while testing) is switched off; one task-queue partition, because one server and a few workers
 * gain nothing from four but forwarded polls; activities scheduled by a workflow task go back to the
 * worker in the task's own answer (eager dispatch) instead of through a poll. The transfer queue (which
 * hands each new workflow task to the matching service) may be read 200 times a second instead of 20:
 * at 20, with the dev server's one history shard, every workflow task waited about 40 ms before a
 * worker could pick it up — six times an order (docs/benchmarks.md, "The engine's ceiling").
 */
export const TEMPORAL_DYNAMIC_CONFIG: Record<string, string | number | boolean> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  'system.enableActivityEagerExecution': true,
  'history.transferProcessorMaxPollRPS': 200,
};

/** True once the frontend answers and the namespace exists. */
export async function temporalAnswers(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
