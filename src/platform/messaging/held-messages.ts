/** What a held message needs: JetStream's "still working on it". */
export interface Workable {
  working(): void;
}

/**
 * The messages a consumer holds (queued behind their order's earlier ones, or being handled), each told
 * to JetStream as still in progress every `everyMs`: a message that waits in its lane or whose
 * handler is slow (a provider taking its time) is not redelivered while it is held, only when it was
 * let go without an answer. Half the consumer's ack wait gives every message its word in time.
 */
export class HeldMessages {
  private readonly held = new Set<Workable>();
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs: number) {
    this.timer = setInterval(() => {
      for (const m of this.held) m.working();
    }, everyMs);
    this.timer.unref();
  }

  get size(): number {
    return this.held.size;
  }

  hold(m: Workable): void {
    this.held.add(m);
  }

  release(m: Workable): void {
    this.held.delete(m);
  }

  stop(): void {
    clearInterval(this.timer);
    this.held.clear();
  }
}
