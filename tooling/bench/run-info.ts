import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { InvalidArgumentError } from 'commander';
import { projectRoot } from '../../src/platform/paths';

/** The machine's load average when the run began: other work on a shared machine is part of the figures. */
export const loadAverageAtStart = os.loadavg();
/** When this run began: progress lines count from it. */
export const began = Date.now();

/** A progress line on stderr, stamped with the minutes and seconds since the run began. */
export function progress(line: string): void {
  const s = Math.round((Date.now() - began) / 1000);
  process.stderr.write(
    `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`,
  );
}

/** A plain-text table: labels left-aligned in the first column, figures right-aligned after it. */
export function textTable(header: string[], body: string[][]): string {
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The machine a run measured, for its results file: a shared machine's load is part of the figures. */
export function machine() {
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverageAtStart,
    loadAverageNow: os.loadavg(),
  };
}

/** The commit measured, `+dirty` when the checkout had changes. */
export function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: projectRoot,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], {
      cwd: projectRoot,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

/** A command-line option's parser for counts. */
export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`must be a whole number of at least 1, got "${v}"`);
  return n;
}
