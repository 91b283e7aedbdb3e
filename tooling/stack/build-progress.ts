/**
 * Progress of a `go install` of one of the stack's binaries, which takes minutes the first time: the
 * packages compiled so far, of those the build will compile (counted beforehand by `go install -n`),
 * and the time taken. On a terminal one line is rewritten in place; in a log a line comes every few
 * seconds; at the end, the total.
 */

/** Where progress goes: a terminal takes a line rewritten in place; a log takes whole lines. */
export interface ProgressOutput {
  tty: boolean;
  /** Raw text for the terminal (the line rewritten in place). */
  write(text: string): void;
  /** One whole line, like every other message of the stack. */
  log(line: string): void;
}

/** The terminal of this process's stderr, else `log`. */
export function stderrOrLog(log: (line: string) => void): ProgressOutput {
  return {
    tty: Boolean(process.stderr.isTTY),
    write: (text) => void process.stderr.write(text),
    log,
  };
}

/** `42 s`, `5 min 07 s`. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

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

const CLEAR_LINE = '\r\x1b[K';

const packages = (n: number) => `${n} package${n === 1 ? '' : 's'}`;

export class BuildProgress {
  private readonly started: number;
  private lastLogged: number;
  private planned: number | undefined;
  private compiling = false;
  private compiled = 0;

  constructor(
    private readonly name: string,
    private readonly out: ProgressOutput,
    private readonly now: () => number = Date.now,
    /** In a log, a line at most this often. */
    private readonly logEveryMs = 5_000,
  ) {
    this.started = now();
    this.lastLogged = this.started;
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
    const took = formatElapsed(this.now() - this.started);
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
    if (this.out.tty) {
      this.out.write(CLEAR_LINE + this.line());
    } else if (this.now() - this.lastLogged >= this.logEveryMs) {
      this.lastLogged = this.now();
      this.out.log(this.line());
    }
  }

  /** The build ended: the rewritten line gives way to the total (or to the caller's error). */
  finish(ok: boolean): void {
    if (this.out.tty) this.out.write(CLEAR_LINE);
    if (ok) {
      this.out.log(
        `built ${this.name} in ${formatElapsed(this.now() - this.started)} (${packages(this.compiled)} compiled)`,
      );
    }
  }
}
