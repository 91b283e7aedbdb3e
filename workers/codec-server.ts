import { startCodecServer } from '../src/processes/codec-server';
import { runProcess } from '../src/processes/run-process';

runProcess('codec-server', startCodecServer);
