/** Terminal output helpers: colour only on a terminal, tables that line up. */

const useColour = process.stdout.isTTY && !('NO_COLOR' in process.env);

const paint = (code: number) => (s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = paint(32);
export const red = paint(31);
export const yellow = paint(33);
export const dim = paint(2);
export const bold = paint(1);

// eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
const visibleLength = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
      .join('  ');
  return [bold(line(headers)), ...rows.map(line)].join('\n');
}

export function colourStatus(status: string): string {
  if (status === 'COMPLETED' || status === 'SUCCEEDED') return green(status);
  if (['FAILED', 'NEEDS_ATTENTION', 'TIMED_OUT'].includes(status)) return red(status);
  if (['CANCELLED', 'TERMINATED', 'COMPENSATED'].includes(status)) return yellow(status);
  return status;
}
