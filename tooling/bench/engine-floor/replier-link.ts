import net from 'node:net';

/**
 * What the worker tells the replier, one JSON object a line over a Unix socket: the stand-in for an
 * order's command on NATS. `complete` carries an async activity's task token (base64); `update` and
 * `signal` name the workflow and step to answer. A socket, not the broker: the bench measures
 * Temporal's part of a step, and a line on a local socket costs next to nothing on either side.
 */
export type ReplyRequest =
  | { kind: 'complete'; taskToken: string; step: number }
  | { kind: 'update' | 'signal'; workflowId: string; step: number };

/** The socket the replier listens on, set by the bench for both processes. */
export const REPLIER_SOCKET_ENV = 'ENGINE_FLOOR_REPLIER_SOCKET';

/**
 * The worker's end: one connection, opened on first use and again after an error. A write is queued
 * by the socket until it connects, so `send` never waits.
 */
export function replierLink(socketPath: string | undefined): (r: ReplyRequest) => void {
  let socket: net.Socket | undefined;
  return (request) => {
    if (!socketPath) throw new Error(`${REPLIER_SOCKET_ENV} is not set: no replier to ask`);
    if (!socket) {
      const s = net.connect(socketPath);
      s.on('error', (err) => {
        // A lost line leaves its workflow waiting: the bench then stalls visibly, it does not miscount.
        console.error(`replier link: ${err.message}`);
        if (socket === s) socket = undefined;
      });
      socket = s;
    }
    socket.write(JSON.stringify(request) + '\n');
  };
}
