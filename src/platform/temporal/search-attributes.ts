import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../config';
import { connectTemporal } from './connection';

/** Custom search attributes the workflow keeps current, so the UI can filter orders. */
export const SEARCH_ATTRIBUTES = {
  OrderStatus: 'Keyword',
  CustomerId: 'Keyword',
  OrderTotalCents: 'Int',
  OrderProgressAt: 'Datetime',
} as const;

const TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

/**
 * Registers the app's custom search attributes that the namespace lacks (a server started before an
 * attribute was added, or any server not started by `shipshape stack up`). Idempotent.
 */
export async function ensureSearchAttributes(config: Config): Promise<string[]> {
  const connection = await connectTemporal(config, 'admin');
  try {
    return await addMissingSearchAttributes(connection, config.temporal.namespace);
  } finally {
    await connection.close();
  }
}

/** The search attributes `namespace` lacks, registered through `connection`; returns their names. */
export async function addMissingSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((name) => [name, TYPES[SEARCH_ATTRIBUTES[name]]]),
      ),
    });
  }
  return missing;
}

/** The app's search attributes that `namespace` does not have, as the server behind `connection` sees it. */
export async function missingSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<(keyof typeof SEARCH_ATTRIBUTES)[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({
    namespace,
  });
  return (Object.keys(SEARCH_ATTRIBUTES) as (keyof typeof SEARCH_ATTRIBUTES)[]).filter(
    (name) => !(customAttributes ?? {})[name],
  );
}
