import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';

/** Where the recorded histories are kept: one `<scenario>.json` per path of an order. */
export const HISTORIES_DIR = path.join(projectRoot, 'test', 'replay', 'histories');

/**
 * Histories recorded on earlier workflow code, a folder per generation (`earlier/<name>/`): runs of
 * them may still be open when new code ships, so the current code must still replay every one.
 */
export const EARLIER_HISTORIES_DIR = path.join(HISTORIES_DIR, 'earlier');

/**
 * The public keys of the signers that recorded the histories (`signer:id:key` a line, as
 * SHIPSHAPE_TRUSTED_SIGNERS takes them): each stack that records adds its own.
 */
export const SIGNERS_FILE = path.join(HISTORIES_DIR, 'signers.txt');

/**
 * The payload key the recorded histories were encrypted with. A test key, made for these fixtures and
 * used nowhere else: replaying needs to decode the inputs and results the histories hold.
 */
export const FIXTURE_PAYLOAD_KEYS = 'replay-fixtures:b6LEEkj4cAvfURj/Lcza7cfqJo3h8KXHwenzktuaTZM=';
