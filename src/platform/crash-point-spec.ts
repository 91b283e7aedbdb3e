/**
 * The named crash points and the syntax that enables them (`SHIPSHAPE_CRASH_POINTS`). Pure: config.ts
 * parses the setting with this, crash-points.ts acts on the result.
 *
 * A rule is `<point>[:<scope>][:<n>]`; rules are separated by commas. The process kills itself with
 * SIGKILL the n-th time (default 1) it reaches the point within the scope (a service name for the
 * service, worker and relay points; any scope when none is given).
 * Example: `service.after-commit-before-ack:inventory:3` — the third inventory command committed.
 */

export const CRASH_POINTS = {
  'worker.before-publish': 'Temporal worker: a command is about to be published',
  'worker.after-publish':
    'Temporal worker: JetStream stored the command, the activity has not completed',
  'service.before-commit': 'service: the effect and the outbox reply are written, COMMIT not sent',
  'service.after-commit-before-ack':
    'service: committed, the reply not yet published, the command not acked',
  'service.after-ack-before-reply':
    'service: the command is acked while its reply, whose publish failed, waits in the outbox',
  'relay.before-publish':
    'outbox relay: about to publish a reply its service left unsent (the command is already acked or dead)',
  'bridge.after-signal-before-ack':
    'reply bridge: the workflow has the reply, the reply is not acked',
} as const;

export type CrashPointName = keyof typeof CRASH_POINTS;

export interface CrashPointRule {
  point: CrashPointName;
  /** Only hits with this scope count; undefined counts every hit. */
  scope: string | undefined;
  /** Fire on the n-th counted hit. */
  nth: number;
}

const SCOPE = /^[a-z][a-z0-9-]*$/;

/** Parses `SHIPSHAPE_CRASH_POINTS`; throws an Error naming the bad rule and what is allowed. */
export function parseCrashPoints(spec: string | undefined): CrashPointRule[] {
  if (spec === undefined || spec.trim() === '') return [];
  return spec
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((rule) => {
      const [point, ...rest] = rule.split(':');
      if (!(point! in CRASH_POINTS)) {
        throw new Error(
          `unknown crash point "${point}" in "${rule}"; known points: ${Object.keys(CRASH_POINTS).join(', ')}`,
        );
      }
      let scope: string | undefined;
      let nth: number | undefined;
      if (rest.length > 2)
        throw new Error(`"${rule}" has too many parts; expected point[:scope][:n]`);
      for (const [i, part] of rest.entries()) {
        if (/^\d+$/.test(part)) {
          if (i !== rest.length - 1 || nth !== undefined)
            throw new Error(`"${rule}": the count comes last; expected point[:scope][:n]`);
          nth = Number(part);
          if (nth < 1 || nth > 1_000_000)
            throw new Error(`"${rule}": the count must be from 1 to 1000000`);
        } else if (SCOPE.test(part) && i === 0) {
          scope = part;
        } else {
          throw new Error(
            `"${rule}": "${part}" is neither a scope (a lower-case name such as a service) nor a count`,
          );
        }
      }
      return { point: point as CrashPointName, scope, nth: nth ?? 1 };
    });
}

/** The setting's text for a list of rules (what the campaign puts in a process's environment). */
export function formatCrashPoints(rules: CrashPointRule[]): string {
  return rules
    .map((r) => [r.point, ...(r.scope ? [r.scope] : []), String(r.nth)].join(':'))
    .join(',');
}
