import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SIGNERS } from '../domain/provenance';
import { newSigningKey } from '../platform/temporal/signing-codecs';
import { CliError, config, EXIT, print, say } from './common';
import { resealTables, streamUsage, summarise, tableUsage, temporalUsage } from './data-keys';
import { createPool } from '../platform/db/pool';
import { connectNats } from '../platform/messaging/connection';
import { ProgressLine, stderrOrLog } from '../platform/progress-line';
import { personalDataFor } from '../platform/security/configured-data-keys';
import { connectTemporalClient } from '../platform/temporal/client';

/**
 * `shipshape keys signing`: new signing keys for the processes that sign what they send to workflows,
 * and the list of public keys the worker trusts (docs/security.md). Written as the files a deployment
 * mounts as secrets; the trusted list keeps the keys it held, so a rotation adds the new ones beside
 * the old, which histories still need.
 */
export function keyCommands(program: Command): void {
  const keys = program.command('keys').description('make the keys a deployment needs');
  keys
    .command('signing')
    .description(
      'new Ed25519 signing keys for the api, the reply-bridge and the reconciler, and the public keys the temporal-worker trusts',
    )
    .option(
      '--out <dir>',
      'write signing-key-<signer> (mode 0600) and add to trusted-signers in this folder, instead of printing them',
    )
    .option('--id <id>', 'the keys’ id, kept in every payload they sign', defaultKeyId())
    .action((o: { out?: string; id: string }) => {
      const made = SIGNERS.map((signer) => ({ signer, ...newSigningKey(signer, o.id) }));
      if (!o.out) {
        for (const k of made) print(`signing-key-${k.signer}: ${k.signingKey}`);
        print(`trusted-signers:\n${made.map((k) => k.trusted).join('\n')}`);
        return;
      }
      mkdirSync(o.out, { recursive: true });
      const trustedFile = path.join(o.out, 'trusted-signers');
      const kept = existsSync(trustedFile)
        ? readFileSync(trustedFile, 'utf8')
            .split('\n')
            .filter((l) => l.trim() !== '')
        : [];
      if (kept.some((l) => l.split(':')[1] === o.id))
        throw new CliError(
          `${trustedFile} already lists keys with the id "${o.id}": give the new keys another --id`,
          EXIT.usage,
        );
      for (const k of made) {
        const file = path.join(o.out, `signing-key-${k.signer}`);
        writeFileSync(file, `${k.signingKey}\n`, { mode: 0o600 });
        say(`wrote ${file}`);
      }
      writeFileSync(trustedFile, `${[...kept, ...made.map((k) => k.trusted)].join('\n')}\n`);
      say(
        `added ${made.length} keys to ${trustedFile} (${kept.length} kept): restart the temporal-worker first, then the signers`,
      );
    });

  keys
    .command('data-usage')
    .description(
      'what still holds personal data sealed with each data key: the tables, the command streams, and the runs Temporal keeps; which old keys may be dropped',
    )
    .option('--no-temporal', 'leave out the runs Temporal keeps (reading each takes a request)')
    .option(
      '--runs-query <query>',
      'read only the runs this visibility query finds, e.g. \'StartTime < "2026-12-01T00:00:00Z"\' (runs started after the old key stopped sealing cannot hold it)',
    )
    .option('--json', 'print the usage as JSON')
    .action(async (o: { temporal: boolean; runsQuery?: string; json?: boolean }) => {
      const c = config();
      const personal = personalDataFor(c);
      const pool = createPool(c, 'migrator', { max: 2 });
      const nc = await connectNats(c, 'admin', 'shipshape-keys');
      const temporal = o.temporal ? await connectTemporalClient(c, 'cli') : undefined;
      try {
        const places = {
          ...(await tableUsage(pool)),
          ...(await streamUsage(nc)),
          ...(temporal
            ? await temporalUsage(
                temporal,
                (done, total) =>
                  progress.show(`reading the runs Temporal keeps: ${done} of ${total}…`),
                o.runsQuery,
              )
            : {}),
        };
        progress.finish();
        const usage = summarise(personal, places);
        if (o.json) return print(JSON.stringify(usage, null, 2));
        print(`current data key: ${usage.current}`);
        for (const [place, counts] of Object.entries(usage.places))
          print(
            `  ${place.padEnd(44)} ${
              Object.entries(counts)
                .map(([k, n]) => `${k}: ${n}`)
                .join(', ') || 'nothing sealed'
            }`,
          );
        print(
          usage.stillNeeded.length
            ? `still needed: ${usage.stillNeeded.join(', ')} (keep listing them; run \`shipshape keys reseal\` for the tables, wait for the streams and Temporal's retention for the rest)`
            : 'no other key is needed by anything kept',
        );
        if (usage.droppable.length) print(`may be dropped: ${usage.droppable.join(', ')}`);
      } finally {
        await temporal?.connection.close();
        await nc.close();
        await pool.end();
      }
    });

  keys
    .command('reseal')
    .description(
      'seal again, with the current data key, every value the tables keep sealed with another (orders, dead letters, shipping notes); orders in flight are safe',
    )
    .option('--dry-run', 'count what would be sealed again, and change nothing')
    .option('--json', 'print the counts as JSON')
    .action(async (o: { dryRun?: boolean; json?: boolean }) => {
      const c = config();
      const pool = createPool(c, 'migrator', { max: 2 });
      try {
        const { rewritten, unreadable } = await resealTables(
          pool,
          personalDataFor(c),
          Boolean(o.dryRun),
        );
        // A value under a key this process lacks is left as it is: the key must be listed to reseal it.
        if (Object.keys(unreadable).length) process.exitCode = EXIT.failed;
        if (o.json)
          return print(
            JSON.stringify({ dryRun: Boolean(o.dryRun), rewritten, unreadable }, null, 2),
          );
        for (const [table, n] of Object.entries(rewritten))
          print(`${table}: ${n} row(s) ${o.dryRun ? 'would be ' : ''}sealed again`);
        for (const [key, n] of Object.entries(unreadable))
          print(
            `${n} value(s) sealed with data key "${key}", which SHIPSHAPE_DATA_KEYS does not list: left as they are`,
          );
      } finally {
        await pool.end();
      }
    });
}

const progress = new ProgressLine(stderrOrLog(say), Date.now, 2_000);

/** `k` and today's date: a new id for each rotation. */
const defaultKeyId = () => `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
