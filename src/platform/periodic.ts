/**
 * Runs `round` now and then `periodMs` after each round ends (never two at once); a failed round is
 * reported and the next one comes as usual. `stop` waits for a round in progress.
 */
export function runPeriodically(
  round: () => Promise<unknown>,
  periodMs: number,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = round()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, periodMs);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
