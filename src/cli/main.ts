import { Command } from 'commander';
import { ApiError } from '../client/api-client';
import { ConfigError } from '../platform/config';
import { ReplayError } from '../replies/dead-letter-replay';
import { TemporalModeConflictError } from '../../tooling/stack/stack';
import { backlogCommand } from './backlog';
import { batchCommands } from './batch-commands';
import { CliError, EXIT, say } from './common';
import { dlqCommands } from './dlq-commands';
import { keyCommands } from './key-commands';
import { localCommands } from './local-commands';
import { orderCommands } from './order-commands';
import { red } from './output';

const program = new Command('shipshape')
  .description(
    'Order fulfilment on Temporal, NATS JetStream and PostgreSQL that does not lose, duplicate or reorder work.',
  )
  .showHelpAfterError()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

localCommands(program);
orderCommands(program);
batchCommands(program);
backlogCommand(program);
dlqCommands(program);
keyCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
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
  } else if (err instanceof ReplayError) {
    say(red(err.message));
    process.exitCode = EXIT.usage;
  } else if (err instanceof TemporalModeConflictError) {
    say(red(err.message));
    process.exitCode = EXIT.conflict;
  } else if (err instanceof CliError) {
    say(red(err.message));
    process.exitCode = err.exitCode;
  } else {
    say(red(`shipshape: ${(err as Error).stack ?? String(err)}`));
    process.exitCode = EXIT.failed;
  }
});
