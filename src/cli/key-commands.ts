import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SIGNERS } from '../domain/provenance';
import { newSigningKey } from '../platform/temporal/signing-codecs';
import { CliError, EXIT, print, say } from './common';

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
}

/** `k` and today's date: a new id for each rotation. */
const defaultKeyId = () => `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
