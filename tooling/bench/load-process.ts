import { withClientCost } from './client-cost';
import { Orders } from './load';
import type { Tracked } from './load';
import type { LoadReport, RunLoad } from './load-messages';

/**
 * The load process: forked by the bench (remote-load.ts), it POSTs the orders the bench asks for and
 * reports each answer's latency. In a process of its own, the load's timing is not held up by the
 * bench's bookkeeping (database polls, /proc sampling, the design's supervision), nor the other way
 * round.
 */

const send = (m: LoadReport) => process.send?.(m);

async function runLoad(m: RunLoad): Promise<void> {
  const orders = new Orders(m.target, m.prefix, m.query);
  let answered: Tracked[] = [];
  orders.onAnswered = (t) => answered.push(t);
  const flush = () => {
    if (!answered.length) return;
    send({ type: 'answered', id: m.id, orders: answered });
    answered = [];
  };
  const ticker = setInterval(flush, 100);
  try {
    const { cost } = await withClientCost(
      () =>
        m.shape.kind === 'open'
          ? orders.openLoop(m.shape.rate, m.shape.durationMs)
          : orders.burst(m.shape.orders, m.shape.clients),
      () => orders.byId.size,
    );
    flush();
    send({ type: 'done', id: m.id, connectionsOpened: orders.connectionsOpened(), cost });
  } finally {
    clearInterval(ticker);
    orders.close();
  }
}

process.on('message', (m: RunLoad) => {
  if (m?.type !== 'run') return;
  runLoad(m).catch((err: unknown) =>
    send({ type: 'failed', id: m.id, error: (err as Error).stack ?? String(err) }),
  );
});
// The bench gone, nothing is left to report to.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', node: process.version, pid: process.pid });
