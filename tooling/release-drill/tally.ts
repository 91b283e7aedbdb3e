/** Which build each order of a phase started and completed on, counted. */

export interface OrderRecord {
  orderId: string;
  phase: string;
  /** The build label its run was first seen on. */
  startedOn?: string;
  /** The build label its run closed on; undefined while open. */
  completedOn?: string;
}

export interface PhaseTally {
  phase: string;
  /** Per build label: orders started on it, and completed on it. */
  builds: Record<string, { started: number; completed: number }>;
  notCompleted: number;
}

export function tally(records: readonly OrderRecord[]): PhaseTally[] {
  const phases = new Map<string, PhaseTally>();
  for (const r of records) {
    let t = phases.get(r.phase);
    if (!t) phases.set(r.phase, (t = { phase: r.phase, builds: {}, notCompleted: 0 }));
    const of = (label: string) => (t.builds[label] ??= { started: 0, completed: 0 });
    of(r.startedOn ?? '?').started++;
    if (r.completedOn) of(r.completedOn).completed++;
    else t.notCompleted++;
  }
  for (const t of phases.values())
    t.builds = Object.fromEntries(Object.entries(t.builds).sort(([a], [b]) => a.localeCompare(b)));
  return [...phases.values()];
}

/** One line per phase and build: `phase  build  started  completed`. */
export function tallyRows(tallies: readonly PhaseTally[]): string[][] {
  return tallies.flatMap((t) =>
    Object.entries(t.builds).map(([label, n]) => [
      t.phase,
      label,
      String(n.started),
      String(n.completed),
    ]),
  );
}
