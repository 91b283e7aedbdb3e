import { EXIT } from '../../src/cli/common';
import { runCli, shipshapeProgram } from '../../src/cli/program';
import { TemporalModeConflictError } from '../stack/stack';
import { localCommands } from './local-commands';

// `shipshape` as a developer runs it (bin/shipshape.js): the product's commands and the local stack's.
const program = shipshapeProgram();
localCommands(program);
runCli(program, (err) => (err instanceof TemporalModeConflictError ? EXIT.conflict : undefined));
