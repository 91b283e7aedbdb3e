import net from 'node:net';

/**
 * A TCP load balancer in front of several servers, as a deployment puts one in front of Temporal's
 * frontends: each new connection goes to the next server in turn, and a server that refuses it is
 * skipped, so clients keep one address while any server is up. gRPC keeps one connection open, so a
 * client stays on its server until that server goes away; it then reconnects and lands on another.
 */

export interface ForwarderTarget {
  host: string;
  port: number;
}

export class RoundRobinForwarder {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  private next = 0;
  /** Connections handed to each target, by "host:port", for tests and logs. */
  readonly handed = new Map<string, number>();

  constructor(
    private readonly targets: readonly ForwarderTarget[],
    private readonly log: (line: string) => void = () => undefined,
  ) {
    if (!targets.length) throw new Error('a forwarder needs at least one target');
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Listens on host:port (port 0 picks a free one); resolves with the port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : port;
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.open.add(client);
    client.on('close', () => this.open.delete(client));
    // Nothing is read until a target has accepted: the client's first bytes go to that one.
    client.pause();
    client.on('error', () => client.destroy());
    const start = this.next;
    this.next = (this.next + 1) % this.targets.length;
    this.connect(client, start, 0);
  }

  private connect(client: net.Socket, index: number, tried: number): void {
    if (client.destroyed) return;
    if (tried === this.targets.length) {
      this.log('no target accepted the connection; closing it');
      client.destroy();
      return;
    }
    const target = this.targets[index % this.targets.length]!;
    const upstream = net.connect(target);
    const refused = () => {
      upstream.destroy();
      this.connect(client, index + 1, tried + 1);
    };
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      const key = `${target.host}:${target.port}`;
      this.handed.set(key, (this.handed.get(key) ?? 0) + 1);
      this.open.add(upstream);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      // Either side ending or failing ends both: the client then reconnects, through us, elsewhere.
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      upstream.on('error', end);
      upstream.on('close', () => {
        this.open.delete(upstream);
        end();
      });
      client.on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}

/** "host:port" → a target; throws naming the bad value. */
export function parseTarget(v: string): ForwarderTarget {
  const m = /^([^:]+):(\d{1,5})$/.exec(v.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new Error(`"${v}" is not host:port`);
  return { host: m[1]!, port };
}
