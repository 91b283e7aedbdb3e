import { writeSync } from 'node:fs';
import { loadConfig } from './config';
import type { CrashPointName, CrashPointRule } from './crash-point-spec';

/**
 * Named hooks where a process kills itself (SIGKILL, no cleanup, as a power cut would), for the chaos
 * campaign. Enabled only by SHIPSHAPE_CRASH_POINTS (see crash-point-spec.ts); otherwise each call is a
 * lookup in an empty list.
 */

let rules: CrashPointRule[] | undefined;
const hits = new Map<CrashPointRule, number>();

function activeRules(): CrashPointRule[] {
  // Read once, lazily: the call sites have no config at hand, and every process has loaded it already.
  rules ??= loadConfig().crashPoints;
  return rules;
}

/** Kills this process if SHIPSHAPE_CRASH_POINTS says this hit of `point` (in `scope`) is the one. */
export function crashPoint(point: CrashPointName, scope?: string): void {
  const active = activeRules();
  if (active.length === 0) return;
  for (const rule of active) {
    if (rule.point !== point || (rule.scope !== undefined && rule.scope !== scope)) continue;
    const n = (hits.get(rule) ?? 0) + 1;
    hits.set(rule, n);
    if (n === rule.nth) {
      // Written synchronously: the line must reach the log before the process is gone.
      writeSync(2, `crash point ${point}${scope ? `:${scope}` : ''} reached (hit ${n}); SIGKILL\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
}

/** For tests: replaces the rules (undefined reads the configuration again) and clears the counts. */
export function setCrashPointsForTest(next: CrashPointRule[] | undefined): void {
  rules = next;
  hits.clear();
}
