import { Command } from 'commander';
import { ApiError } from '../client/api-client';
import { ConfigError } from '../platform/config';
import { ReplayError } from '../replies/dead-letter-replay';
import { backlogCommand } from './backlog';
import { batchCommands } from './batch-commands';
import { CliError, EXIT, say } from './common';
import { configCommand } from './config-command';
import { deploymentCommands } from './deployment-commands';
import { dlqCommands } from './dlq-commands';
import { keyCommands } from './key-commands';
import { orderCommands } from './order-commands';
import { red } from './output';
import { setupCommand } from './setup-command';

/**
 * The `shipshape` command: the product's commands (orders, operations, keys, setup, configuration). The local stack's
 * commands (`stack`, `run`, `demo`) are added beside them by tooling/cli, which `bin/shipshape.js` runs.
 */
export function shipshapeProgram(): Command {
  const program = new Command('shipshape')
    .description(
      'Order fulfilment on Temporal, NATS JetStream and PostgreSQL that does not lose, duplicate or reorder work.',
    )
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  setupCommand(program);
  orderCommands(program);
  batchCommands(program);
  backlogCommand(program);
  dlqCommands(program);
  deploymentCommands(program);
  keyCommands(program);
  configCommand(program);
  return program;
}

/**
 * Runs the command line and turns a failure into a message and an exit code: 2 for bad usage or
 * configuration, 3 not found, 4 conflict, 1 otherwise. `exitCodeOf` names the codes of other errors.
 */
export function runCli(
  program: Command,
  exitCodeOf: (err: unknown) => number | undefined = () => undefined,
): void {
  program.parseAsync(process.argv).catch((err: unknown) => {
    const known = exitCodeOf(err);
    if (known !== undefined) {
      say(red((err as Error).message));
      process.exitCode = known;
    } else if (err instanceof ConfigError || err instanceof ReplayError) {
      say(red(err.message));
      process.exitCode = EXIT.usage;
    } else if (err instanceof ApiError) {
      say(red(err.message));
      process.exitCode =
        err.status === 404
          ? EXIT.notFound
          : err.status === 409
            ? EXIT.conflict
            : err.status < 500
              ? EXIT.usage
              : EXIT.failed;
    } else if (err instanceof CliError) {
      say(red(err.message));
      process.exitCode = err.exitCode;
    } else {
      say(red(`shipshape: ${(err as Error).stack ?? String(err)}`));
      process.exitCode = EXIT.failed;
    }
  });
}
