import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';

/** Custom search attributes the workflow keeps current, so the UI can filter orders. */
export const SEARCH_ATTRIBUTES = {
  OrderStatus: 'Keyword',
  CustomerId: 'Keyword',
  OrderTotalCents: 'Int',
  OrderProgressAt: 'Datetime',
} as const;

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
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  return args;
}

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
