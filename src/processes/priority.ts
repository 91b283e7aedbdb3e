import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Runs `pid` at `niceness` (0 to 19: higher yields the CPU to the rest): how the local stack and
 * `shipshape run` put the processes that drain the backlog behind the API and PostgreSQL. A process
 * that is gone, or a system that refuses, leaves it at its own priority: this is a preference about
 * speed, never a reason to fail.
 *
 * Where Linux groups each session for scheduling (autogroup, on by default), a process's niceness
 * only ranks it inside its own session: a server started in a session of its own (as the stack's
 * are, so that they outlive the command that started them) would still take an equal share of the
 * cores beside the API's session. Such a process's whole session is put behind as well.
 */
export function runBehind(pid: number | undefined, niceness: number): boolean {
  if (pid === undefined || niceness <= 0) return false;
  try {
    os.setPriority(pid, niceness);
  } catch {
    return false;
  }
  const group = schedulingGroupOf(pid)?.group;
  if (group !== undefined && group !== schedulingGroupOf(process.pid)?.group) {
    try {
      writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
    } catch {
      // Not Linux, or not allowed: the process's own niceness is what we could set.
    }
  }
  return true;
}

/**
 * The scheduler's group `pid` belongs to (Linux's autogroup: one per session, `/autogroup-<n>`) and
 * that group's niceness, where the system has them.
 */
export function schedulingGroupOf(pid: number): { group: string; niceness: number } | undefined {
  try {
    const m = /^(\/autogroup-\d+) nice (-?\d+)/.exec(
      readFileSync(`/proc/${pid}/autogroup`, 'utf8'),
    );
    return m ? { group: m[1]!, niceness: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}
