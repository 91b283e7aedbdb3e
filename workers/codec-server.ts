import { runMain } from '../src/processes/run-process';
import { startCodecServer } from '../src/platform/temporal/codec-server';

// Decodes payloads for the Temporal UI; needs no streams or tables.
runMain('codec-server', startCodecServer, { infrastructure: false });
