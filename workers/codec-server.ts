import { runMain } from '../src/runtime/main';
import { startCodecServer } from '../src/temporal/codec-server';

// Decodes payloads for the Temporal UI; needs no streams or tables.
runMain('codec-server', startCodecServer, { infrastructure: false });
