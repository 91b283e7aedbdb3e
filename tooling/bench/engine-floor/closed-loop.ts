/**
 * `concurrency` callers, each running one workflow after another. The callers start evenly spread
 * over `rampMs`, and the window opens once as many workflows have finished as there are callers, so
 * that it sees the steady state: were all callers to start at once, their workflows would finish in
 * waves a latency apart, and a window not much longer than one latency would count one wave or two.
 * Counts the workflows that finish inside the `ms` window (wherever they started) and their
 * start-to-result latencies; `hooks` run as the window opens and closes (CPU sampling). The callers'
 * last workflows, still running when it closes, are awaited and not counted.
 */
export async function closedLoop(
  run: (n: number) => Promise<void>,
  concurrency: number,
  rampMs: number,
  ms: number,
  hooks: { opened?: () => void; closed?: () => void } = {},
): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  let finished = 0;
  let opensAt: number | undefined;
  let closed = false;
  let n = 0;
  const open = () => {
    opensAt = Date.now();
    hooks.opened?.();
    setTimeout(() => {
      closed = true;
      hooks.closed?.();
    }, ms);
  };
  const caller = async (i: number) => {
    await new Promise((resolve) => setTimeout(resolve, (rampMs * i) / concurrency));
    while (!closed) {
      const t0 = Date.now();
      await run(n++);
      const t1 = Date.now();
      if (opensAt !== undefined && !closed) latencies.push(t1 - t0);
      if (++finished === concurrency) open();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => caller(i)));
  return { latencies, elapsedMs: ms };
}
