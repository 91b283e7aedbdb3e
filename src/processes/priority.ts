import os from 'node:os';

/**
 * Runs `pid` at `niceness` (0 to 19: higher yields the CPU to the rest): how the local stack and
 * `shipshape run` put the processes that drain the backlog behind the API and PostgreSQL. A process
 * that is gone, or a system that refuses, leaves it at its own priority: this is a preference about
 * speed, never a reason to fail.
 */
export function runBehind(pid: number | undefined, niceness: number): boolean {
  if (pid === undefined || niceness <= 0) return false;
  try {
    os.setPriority(pid, niceness);
    return true;
  } catch {
    return false;
  }
}
