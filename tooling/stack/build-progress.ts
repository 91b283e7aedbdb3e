/**
 * Progress of a `go install` of one of the stack's binaries, which takes minutes the first time: the
 * packages compiled so far, of those the build will compile (counted beforehand by `go install -n`),
 * and the time taken. On a terminal one line is rewritten in place; in a log a line comes every few
 * seconds; at the end, the total.
 */

import { ProgressLine } from '../../src/platform/progress-line';
import type { ProgressOutput } from '../../src/platform/progress-line';

export { formatElapsed, stderrOrLog } from '../../src/platform/progress-line';
export type { ProgressOutput } from '../../src/platform/progress-line';

/** How many packages `go install -n` (a dry run) would compile: one `compile` command each. */
export function plannedCompiles(dryRun: string): number {
  return dryRun.split('\n').filter((line) => /^\S*\/compile(\s|$)/.test(line)).length;
}

/**
 * Whether a line of `go install -v` names a package (it names each as it starts compiling it; anything
 * else is a message).
 */
export function isCompiledPackage(line: string): boolean {
  return /^[\w.~-]+(\/[\w.~-]+)*$/.test(line);
}

const packages = (n: number) => `${n} package${n === 1 ? '' : 's'}`;

export class BuildProgress {
  private readonly progress: ProgressLine;
  private planned: number | undefined;
  private compiling = false;
  private compiled = 0;

  constructor(
    private readonly name: string,
    out: ProgressOutput,
    now: () => number = Date.now,
    /** In a log, a line at most this often. */
    logEveryMs = 5_000,
  ) {
    this.progress = new ProgressLine(out, now, logEveryMs);
  }

  /** Compiling starts: `planned` packages (undefined when they could not be counted). */
  compilingStarts(planned: number | undefined): void {
    this.compiling = true;
    this.planned = planned;
  }

  /** `go install -v` named a package: it compiles it now. */
  packageCompiled(): void {
    this.compiled++;
  }

  line(): string {
    const took = this.progress.elapsed();
    if (!this.compiling)
      return `building ${this.name}: fetching modules, listing packages… ${took}`;
    if (this.planned === undefined) {
      return `building ${this.name}: package ${this.compiled}… ${took}`;
    }
    const done = Math.min(this.compiled, this.planned);
    const percent = this.planned ? Math.floor((done * 100) / this.planned) : 100;
    return `building ${this.name}: package ${done} of ${this.planned} (${percent}%)… ${took}`;
  }

  /** Shows where the build is; call it every second or so. */
  tick(): void {
    this.progress.show(this.line());
  }

  /** The build ended: the rewritten line gives way to the total (or to the caller's error). */
  finish(ok: boolean): void {
    this.progress.finish(
      ok
        ? `built ${this.name} in ${this.progress.elapsed()} (${packages(this.compiled)} compiled)`
        : undefined,
    );
  }
}
