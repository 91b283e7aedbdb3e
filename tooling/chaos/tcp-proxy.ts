import net from 'node:net';

/**
 * A small TCP proxy to put between one process and NATS or PostgreSQL, so the campaign can break that
 * one connection while everything else keeps working. The mode applies at once to open connections and
 * to new ones:
 * - `forward`: pass bytes both ways;
 * - `delay`: pass them after `ms` (order kept);
 * - `blackhole`: accept and swallow everything, answer nothing (a silent network partition);
 * - `reset`: tear every connection down with a TCP RST, and reset each new one;
 * - `drop-replies`: pass requests to the server, swallow what it sends back (the request is done,
 *   its answer never arrives).
 */
export type ProxyMode =
  | { kind: 'forward' }
  | { kind: 'delay'; ms: number }
  | { kind: 'blackhole' }
  | { kind: 'reset' }
  | { kind: 'drop-replies' };

export interface TcpProxyOptions {
  /** 0 picks a free port. */
  listenPort: number;
  targetPort: number;
  targetHost?: string;
  host?: string;
}

/** One direction of one connection: chunks leave in arrival order, each no earlier than its time. */
class Pipe {
  private readonly queue: { at: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly to: net.Socket) {}

  push(chunk: Buffer, delayMs: number): void {
    const last = this.queue[this.queue.length - 1]?.at ?? 0;
    this.queue.push({ at: Math.max(Date.now() + delayMs, last), chunk });
    this.drain();
  }

  private drain(): void {
    if (this.timer) return;
    const now = Date.now();
    while (this.queue.length && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.queue.length) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, this.queue[0]!.at - now);
    }
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Connection {
  client: net.Socket;
  server: net.Socket;
  up: Pipe;
  down: Pipe;
}

export class TcpProxy {
  private mode: ProxyMode = { kind: 'forward' };
  private readonly open = new Set<Connection>();
  private readonly server: net.Server;
  private boundPort = 0;
  /** Connections accepted since start, for tests and the campaign's report. */
  accepted = 0;

  constructor(private readonly opts: TcpProxyOptions) {
    this.server = net.createServer((client) => this.accept(client));
  }

  get port(): number {
    return this.boundPort;
  }

  get current(): ProxyMode {
    return this.mode;
  }

  get connections(): number {
    return this.open.size;
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.listenPort, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const a = this.server.address();
    this.boundPort = typeof a === 'object' && a ? a.port : this.opts.listenPort;
    return this.boundPort;
  }

  setMode(mode: ProxyMode): void {
    if (mode.kind === 'delay' && !(Number.isInteger(mode.ms) && mode.ms >= 0)) {
      throw new Error(`delay must be a whole number of milliseconds >= 0, got ${mode.ms}`);
    }
    this.mode = mode;
    if (mode.kind === 'reset') for (const c of [...this.open]) this.reset(c);
  }

  async stop(): Promise<void> {
    for (const c of [...this.open]) this.close(c);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const server = net.connect({
      port: this.opts.targetPort,
      host: this.opts.targetHost ?? '127.0.0.1',
    });
    const c: Connection = { client, server, up: new Pipe(server), down: new Pipe(client) };
    this.open.add(c);
    client.setNoDelay(true);
    server.setNoDelay(true);
    // Handlers first: a refused or reset upstream must end this connection, never the process.
    const end = () => this.close(c);
    for (const s of [client, server]) {
      s.on('error', end);
      s.on('close', end);
      s.on('end', end);
    }
    if (this.mode.kind === 'reset') {
      this.reset(c);
      return;
    }
    client.on('data', (chunk: Buffer) => this.pass(c.up, chunk, 'up'));
    server.on('data', (chunk: Buffer) => this.pass(c.down, chunk, 'down'));
  }

  private pass(pipe: Pipe, chunk: Buffer, direction: 'up' | 'down'): void {
    switch (this.mode.kind) {
      case 'forward':
        return pipe.push(chunk, 0);
      case 'delay':
        return pipe.push(chunk, this.mode.ms);
      case 'drop-replies':
        if (direction === 'up') pipe.push(chunk, 0);
        return;
      case 'blackhole':
      case 'reset':
        return;
    }
  }

  private reset(c: Connection): void {
    c.up.clear();
    c.down.clear();
    this.open.delete(c);
    c.client.resetAndDestroy();
    c.server.resetAndDestroy();
  }

  private close(c: Connection): void {
    if (!this.open.delete(c)) return;
    c.up.clear();
    c.down.clear();
    c.client.destroy();
    c.server.destroy();
  }
}
