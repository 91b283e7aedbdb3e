/**
 * Key-ordered lanes: each key always maps to the same lane, and a lane runs its tasks one at a time,
 * so one key's tasks keep their order while different keys proceed in parallel.
 *
 * The lanes share one capacity: `submit` waits only while the lanes together hold `capacity` tasks
 * (back-pressure instead of an unbounded buffer). A lane of its own has no limit, so a lane that a slow
 * key keeps busy never stops the other lanes from taking work while there is room.
 */
export class KeyedLanes {
  private readonly queues: (() => Promise<void>)[][];
  private readonly running: boolean[];
  private held = 0;
  private roomWaiters: (() => void)[] = [];
  private idleResolvers: (() => void)[] = [];

  constructor(
    readonly laneCount: number,
    readonly capacity: number,
    private readonly onError: (err: unknown) => void,
  ) {
    if (laneCount < 1 || capacity < 1) throw new Error('lanes and capacity must be at least 1');
    this.queues = Array.from({ length: laneCount }, () => []);
    this.running = Array.from({ length: laneCount }, () => false);
  }

  laneOf(key: string): number {
    // FNV-1a: cheap, stable across processes and restarts.
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) % this.laneCount;
  }

  /** How many tasks each lane holds, running one included. */
  depths(): number[] {
    return this.queues.map((q, i) => q.length + (this.running[i] ? 1 : 0));
  }

  async submit(key: string, task: () => Promise<void>): Promise<void> {
    while (this.held >= this.capacity) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.held++;
    const lane = this.laneOf(key);
    this.queues[lane]!.push(task);
    if (!this.running[lane]) void this.runLane(lane);
  }

  private async runLane(lane: number): Promise<void> {
    this.running[lane] = true;
    const queue = this.queues[lane]!;
    while (queue.length > 0) {
      const task = queue.shift()!;
      try {
        await task();
      } catch (err) {
        this.onError(err);
      }
      this.held--;
      this.roomWaiters.shift()?.();
    }
    this.running[lane] = false;
    if (this.running.every((r) => !r)) {
      const resolvers = this.idleResolvers;
      this.idleResolvers = [];
      resolvers.forEach((r) => r());
    }
  }

  /** Resolves once every lane has finished what it holds. */
  async idle(): Promise<void> {
    if (this.running.every((r) => !r)) return;
    await new Promise<void>((resolve) => this.idleResolvers.push(resolve));
  }
}
