import { readFileSync } from 'node:fs';
import { childrenOf } from './proc-tree';

/**
 * CPU time and memory of a design's processes, read from /proc: utime + stime from /proc/<pid>/stat,
 * resident memory from /proc/<pid>/status. A named group may be several processes (PostgreSQL: the
 * postmaster and its backends, found as its children); shared memory is counted once per group.
 */

const TICKS_PER_SEC = 100; // USER_HZ on Linux

interface PidSample {
  cpuTicks: number;
  rssKb: number;
  shmemKb: number;
}

function readPid(pid: number): PidSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuTicks = Number(rest[11]) + Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { cpuTicks, rssKb: kb('VmRSS'), shmemKb: kb('RssShmem') };
  } catch {
    return undefined; // gone
  }
}

export interface ProcessFigures {
  cpuMs: number;
  peakRssMb: number;
}

/** The CPU of every process of a sample, together. */
export const totalCpuMs = (figures: Record<string, ProcessFigures> | ProcessFigures[]): number =>
  Object.values(figures).reduce((s, p) => s + p.cpuMs, 0);

export interface Watched {
  pid: number;
  /** Also count the process's children (PostgreSQL backends). */
  withChildren?: boolean;
}

/** Samples a set of named process groups on an interval; CPU counts from the first sample on. */
export class ProcessSampler {
  private readonly baseTicks = new Map<number, number>();
  private readonly lastTicks = new Map<number, number>();
  private readonly groupPids = new Map<string, Set<number>>();
  private readonly peakKb = new Map<string, number>();
  private readonly currentKb = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly groups: () => Record<string, Watched | undefined>) {}

  start(intervalMs = 500): void {
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample(false);
  }

  /** Resident memory of each group now, in MB. */
  currentRssMb(): Record<string, number> {
    return Object.fromEntries([...this.currentKb].map(([n, kb]) => [n, kb / 1024]));
  }

  private sample(first: boolean): void {
    for (const [name, w] of Object.entries(this.groups())) {
      if (!w) continue;
      const pids = [w.pid, ...(w.withChildren ? childrenOf(w.pid) : [])];
      const known = this.groupPids.get(name) ?? new Set<number>();
      this.groupPids.set(name, known);
      let rss = 0;
      let shmem = 0;
      for (const pid of pids) {
        const s = readPid(pid);
        if (!s) continue;
        // A process seen for the first time after the start began during the run: all its CPU counts.
        if (!known.has(pid)) {
          known.add(pid);
          this.baseTicks.set(pid, first ? s.cpuTicks : 0);
        }
        this.lastTicks.set(pid, s.cpuTicks);
        rss += s.rssKb - s.shmemKb;
        shmem = Math.max(shmem, s.shmemKb);
      }
      const total = rss + shmem;
      this.currentKb.set(name, total);
      this.peakKb.set(name, Math.max(this.peakKb.get(name) ?? 0, total));
    }
  }

  figures(): Record<string, ProcessFigures> {
    const out: Record<string, ProcessFigures> = {};
    for (const [name, pids] of this.groupPids) {
      let ticks = 0;
      for (const pid of pids)
        ticks += (this.lastTicks.get(pid) ?? 0) - (this.baseTicks.get(pid) ?? 0);
      out[name] = {
        cpuMs: Math.round((ticks * 1000) / TICKS_PER_SEC),
        peakRssMb: Math.round((this.peakKb.get(name) ?? 0) / 1024),
      };
    }
    return out;
  }
}
