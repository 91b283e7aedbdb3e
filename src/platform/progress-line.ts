/**
 * Progress of long work on one line: on a terminal the line is rewritten in place; in a log a whole
 * line comes every few seconds; at the end, the caller's summary.
 */

/** Where progress goes: a terminal takes a line rewritten in place; a log takes whole lines. */
export interface ProgressOutput {
  tty: boolean;
  /** Raw text for the terminal (the line rewritten in place). */
  write(text: string): void;
  /** One whole line, like every other message. */
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

const CLEAR_LINE = '\r\x1b[K';

/** One progress line, shown as `show` says, at most every `logEveryMs` in a log. */
export class ProgressLine {
  readonly started: number;
  private lastLogged: number;

  constructor(
    private readonly out: ProgressOutput,
    private readonly now: () => number = Date.now,
    /** In a log, a line at most this often. */
    private readonly logEveryMs = 5_000,
  ) {
    this.started = now();
    this.lastLogged = this.started;
  }

  /** Time since the work started, in words. */
  elapsed(): string {
    return formatElapsed(this.now() - this.started);
  }

  /** Shows where the work is; call it every second or so. */
  show(line: string): void {
    if (this.out.tty) {
      this.out.write(CLEAR_LINE + line);
    } else if (this.now() - this.lastLogged >= this.logEveryMs) {
      this.lastLogged = this.now();
      this.out.log(line);
    }
  }

  /** The work ended: the rewritten line gives way to the summary, if any. */
  finish(summary?: string): void {
    if (this.out.tty) this.out.write(CLEAR_LINE);
    if (summary) this.out.log(summary);
  }
}
