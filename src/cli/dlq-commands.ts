import { readFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { Option } from 'commander';
import type { Command } from 'commander';
import { connectNats } from '../platform/messaging/connection';
import { replayDeadLetter, ReplayError } from '../replies/dead-letter-replay';
import { getDeadLetter, listDeadLetters } from '../replies/dead-letter-store';
import { CliError, config, EXIT, positiveInt, print, say, withPool } from './common';
import { red, table } from './output';

/** `shipshape dlq …`: list, show and replay dead letters. */

export function dlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('dead letters: messages that ran out of deliveries or could not be processed');
  dlq
    .command('list')
    .description('dead letters, newest first')
    .addOption(
      new Option('--status <status>', 'only open or replayed ones').choices(['open', 'replayed']),
    )
    .option('--order <orderId>', "only this order's")
    .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveInt).default(50))
    .option('--json', 'print as JSON')
    .action(async (o: { status?: string; order?: string; limit: number; json?: boolean }) => {
      const rows = await withPool((pool) =>
        listDeadLetters(pool, { status: o.status, orderId: o.order, limit: o.limit }),
      );
      if (o.json) return print(JSON.stringify(rows, null, 2));
      print(
        table(
          ['id', 'status', 'subject', 'order', 'deliveries', 'last seen', 'error'],
          rows.map((d) => [
            d.id,
            d.status === 'open' ? red(d.status) : d.status,
            d.subject,
            d.orderId ?? '-',
            String(d.deliveryCount),
            d.lastSeen.toISOString(),
            d.error.slice(0, 80),
          ]),
        ),
      );
    });
  dlq
    .command('show')
    .description('one dead letter with its headers and payload')
    .argument('<id>')
    .action(async (id: string) => {
      const d = await withPool((pool) => getDeadLetter(pool, id));
      if (!d) throw new CliError(`no dead letter ${id}`, EXIT.notFound);
      print(JSON.stringify(d, null, 2));
    });
  dlq
    .command('replay')
    .description(
      're-publish dead letters to their original subjects (a command already done has no second effect)',
    )
    .argument('[id]', 'the dead letter to replay')
    .option('--all', 'replay every open dead letter')
    .option('--payload-file <file>', 'replace the payload with this (fixed) JSON; only with one id')
    .action(async (id: string | undefined, o: { all?: boolean; payloadFile?: string }) => {
      if (!id === !o.all) throw new CliError('give either a dead letter id or --all', EXIT.usage);
      if (o.payloadFile && o.all)
        throw new CliError('--payload-file goes with one id, not --all', EXIT.usage);
      const fixed = o.payloadFile ? readFileSync(o.payloadFile, 'utf8') : undefined;
      const c = config();
      const nc = await connectNats(c, 'cli');
      try {
        await withPool(async (pool) => {
          const targets = id
            ? [await getDeadLetter(pool, id)]
            : await listDeadLetters(pool, { status: 'open', limit: 10_000 });
          if (id && !targets[0]) throw new CliError(`no dead letter ${id}`, EXIT.notFound);
          const js = jetstream(nc);
          const refused: string[] = [];
          for (const d of targets) {
            try {
              const { seq } = await replayDeadLetter(pool, js, d!, {
                fixedPayload: fixed,
                replayableHours: c.retention.replayableHours,
              });
              say(`replayed dead letter ${d!.id} to ${d!.subject} (stream seq ${seq})`);
            } catch (err) {
              // One dead letter refused: with --all, the others are still replayed.
              if (!(err instanceof ReplayError) || id) throw err;
              say(`not replayed: ${err.message}`);
              refused.push(d!.id);
            }
          }
          if (!targets.length) say('no open dead letters');
          if (refused.length)
            throw new CliError(
              `${refused.length} dead letters not replayed: ${refused.join(', ')}`,
            );
        });
      } finally {
        await nc.close();
      }
    });
}
