import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';

/** Where the recorded histories are kept: one `<scenario>.json` per path of an order. */
export const HISTORIES_DIR = path.join(projectRoot, 'test', 'replay', 'histories');

/**
 * The payload key the recorded histories were encrypted with. A test key, made for these fixtures and
 * used nowhere else: replaying needs to decode the inputs and results the histories hold.
 */
export const FIXTURE_PAYLOAD_KEYS = 'replay-fixtures:b6LEEkj4cAvfURj/Lcza7cfqJo3h8KXHwenzktuaTZM=';
