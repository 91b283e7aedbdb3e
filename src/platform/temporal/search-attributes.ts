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
  const connection = await connectTemporal(config);
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: config.temporal.namespace,
    });
    const missing = Object.entries(SEARCH_ATTRIBUTES).filter(
      ([name]) => !(customAttributes ?? {})[name],
    );
    if (missing.length) {
      await connection.operatorService.addSearchAttributes({
        namespace: config.temporal.namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPES[type]])),
      });
    }
    return missing.map(([name]) => name);
  } finally {
    await connection.close();
  }
}
