import type { Command } from 'commander';
import { prepareInfrastructure } from '../processes/setup';
import { config, say } from './common';
import { dim, green } from './output';

/** `shipshape setup`: what a deployment runs once, with the migrator's and NATS admin's rights. */
export function setupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      "the one-time setup, with the migrator's and NATS admin's rights: database migrations and grants, search attributes, streams and consumers (idempotent; `run` and `demo` do it first)",
    )
    .action(async () => {
      const c = config();
      await prepareInfrastructure(c, (l) => say(dim(l)));
      say(green('setup done'));
    });
}
