import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';

/**
 * Where the recorded histories are kept. `<scenario>.json` here, one per path of an order, and
 * `earlier/<generation>/` were recorded before Worker Versioning: runs like them move to the current
 * build, so every build must replay them.
 */
export const HISTORIES_DIR = path.join(projectRoot, 'test', 'replay', 'histories');

/** Unversioned histories of earlier workflow code, a folder per generation (`earlier/<name>/`). */
export const EARLIER_HISTORIES_DIR = path.join(HISTORIES_DIR, 'earlier');

/**
 * Histories recorded on versioned workers, a folder per build id (`builds/<build id>/<scenario>.json`):
 * each replays on the builds that may be handed runs like it (test/replay/handed.ts).
 */
export const BUILDS_DIR = path.join(HISTORIES_DIR, 'builds');

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
