import { temporal } from '@temporalio/proto';
import type { Config } from '../config';
import { SEARCH_ATTRIBUTES } from '../../../tooling/stack/temporal';
import { connectTemporal } from './connection';

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
