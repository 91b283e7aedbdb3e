import { rmSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../../src/platform/config';
import { connectTemporalClient } from '../../../src/platform/temporal/client';
import { REPLIER_SOCKET_ENV } from './replier-link';
import type { ReplyRequest } from './replier-link';
import { replySignal, replyUpdate } from './workflows';

/**
 * The replier: the stand-in for a service and the reply bridge together, a process of its own so that
 * its CPU is counted apart. It takes each published step from the worker over a Unix socket and
 * answers it at once the way the shape delivers replies: completes the open activity by its task token,
 * sends a Workflow Update and returns once it is accepted (when a bridge would ack), or signals.
 */

/** One reply, tried again a few times: a reply lost to a passing error would stall its workflow. */
async function answer(client: Client, r: ReplyRequest): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (r.kind === 'complete') {
        await client.activity.complete(Buffer.from(r.taskToken, 'base64'), r.step);
      } else if (r.kind === 'update') {
        // The update id makes a repeated try the same update, not a second one.
        await client.workflow.getHandle(r.workflowId).startUpdate(replyUpdate, {
          args: [r.step],
          updateId: `reply-${r.step}`,
          waitForStage: 'ACCEPTED',
        });
      } else {
        await client.workflow.getHandle(r.workflowId).signal(replySignal, r.step);
      }
      return;
    } catch (err) {
      if (attempt === 5) throw err;
      await delay(100 * attempt);
    }
  }
}

async function main(): Promise<void> {
  const socketPath = process.env[REPLIER_SOCKET_ENV];
  if (!socketPath) throw new Error(`${REPLIER_SOCKET_ENV} is not set`);
  const client = await connectTemporalClient(loadConfig(), 'cli');
  rmSync(socketPath, { force: true });
  const server = net.createServer((socket) => {
    socket.on('error', (err) => console.error(`replier: ${err.message}`));
    createInterface({ input: socket }).on('line', (line) => {
      const request = JSON.parse(line) as ReplyRequest;
      answer(client, request).catch((err: unknown) =>
        console.error(`replier: ${described(request)} not answered: ${String(err)}`),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  process.once('SIGTERM', () => {
    server.close();
    rmSync(socketPath, { force: true });
    void client.connection.close().finally(() => process.exit(0));
  });
  process.send?.({ ready: 'engine-floor-replier' });
}

const described = (q: ReplyRequest) =>
  q.kind === 'complete' ? `step ${q.step}'s completion` : `${q.kind} ${q.workflowId}/${q.step}`;

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
