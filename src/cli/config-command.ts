import type { Command } from 'commander';
import { SETTINGS } from '../platform/config';
import { readSection } from '../platform/settings/setting';
import type { Reading, Section } from '../platform/settings/setting';
import { configurationReference, defaultOf, shown } from '../platform/settings/reference';
import { print } from './common';
import { table } from './output';

/**
 * `shipshape config`: every setting, the value this environment gives it and its default; with
 * `--reference`, the text of docs/configuration.md.
 */
export function configCommand(program: Command): void {
  program
    .command('config')
    .description(
      'list every setting (an environment variable), the value it has here and its default; secrets are shown as "set"',
    )
    .option('--reference', 'print the configuration reference (docs/configuration.md) instead')
    .option('--json', 'print the values as JSON')
    .action((o: { reference?: boolean; json?: boolean }) => {
      if (o.reference) return print(configurationReference(SETTINGS));
      const reading: Reading = { problems: [], renamed: [] };
      const rows: { section: string; variable: string; value: string; default: string }[] = [];
      for (const [title, section] of Object.entries(SETTINGS as Record<string, Section>)) {
        const values: Record<string, unknown> = readSection(section, process.env, reading);
        for (const [key, s] of Object.entries(section)) {
          const raw = process.env[s.env] || (s.formerly ? process.env[s.formerly] : undefined);
          const value = !raw ? 'unset' : s.secret ? 'set' : shown(values[key] ?? raw);
          rows.push({
            section: title,
            variable: s.env,
            value: plain(value),
            default: plain(defaultOf(s)),
          });
        }
      }
      if (o.json) return print(JSON.stringify({ settings: rows, ...reading }, null, 2));
      print(
        table(
          ['variable', 'value', 'default'],
          rows.map((r) => [r.variable, r.value, r.default]),
        ),
      );
      for (const p of reading.problems) print(`bad: ${p}`);
      for (const r of reading.renamed)
        print(`renamed: ${r.formerly} is read this release only; set ${r.now}`);
      if (reading.problems.length) process.exitCode = 2;
    });
}

/** The docs' markdown quoting, which a terminal does not need. */
const plain = (text: string) => text.replace(/`/g, '');
