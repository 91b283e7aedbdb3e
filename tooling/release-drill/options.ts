import { TEMPORAL_MODES, temporalModeNamed } from '../../src/platform/config';
import type { TemporalMode } from '../../src/platform/config';

/** The release drill's command line. */

export const HELP = `npm run release-drill -- [options]

A release of new workflow code while orders are in flight, on a local stack of its own (Temporal as
--temporal says, SHIPSHAPE_STACK_DIR .shipshape-release-drill, SHIPSHAPE_PORT_OFFSET 2400 unless set),
with every process of \`shipshape run\` and providers slowed to --latency ms a call. Temporal starts
with an empty database and its version drainage checks shortened to seconds (it says which settings). Four builds of the Temporal worker:
A (this checkout), B (a change A's histories would not replay), C (another change), D (a bad build).
  1. release: --orders orders held open on A; B's worker starts, ramps to 10 % then 100 % while new
     orders come in; A's drainage is printed as it changes and A's worker retired once it is DRAINED.
  2. rollback: C ramps to 10 %, then the ramp is taken away mid-rollout; C's orders finish on C, which
     is retired once drained.
  3. recovery: D ramps, its orders get stuck; the ramp is taken away and D's orders are pinned to B
     (\`temporal workflow update-options --versioning-override-…\`), where they finish.
Prints per phase the orders started and completed on each build, checks every order's ledgers
(nothing lost, charged or shipped twice, every order ended), writes the figures to
tooling/bench/results/release-drill-<time>.json, and ends with a line violations=N.

  --orders <n>      orders held open on build A (default 200)
  --per-step <n>    new orders placed at each routing step (default: a tenth of --orders, at least 10)
  --latency <ms>    each provider call (default 1000)
  --temporal <mode> dev: the Temporal CLI's dev server (default); cluster: two Temporal server nodes
                    on PostgreSQL, as \`shipshape stack up --temporal cluster\` runs them
  --json            print the figures as JSON last
  --help            this text`;

/** The drill's stack's port offset when SHIPSHAPE_PORT_OFFSET is unset: clear of every other stack's ports. */
export const RELEASE_DRILL_PORT_OFFSET = 2400;

export interface Options {
  orders: number;
  perStep: number;
  latencyMs: number;
  temporal: TemporalMode;
  json: boolean;
  help: boolean;
}

/** A command line the drill cannot run; the message says which option. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOptions(argv: readonly string[]): Options {
  const o = {
    orders: 200,
    latencyMs: 1000,
    temporal: 'dev',
    json: false,
    help: false,
  } as Options & {
    perStep?: number;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const v = argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 1)
        throw new UsageError(`${a} needs a whole number of 1 or more`);
      return n;
    };
    if (a === '--help' || a === '-h') o.help = true;
    else if (a === '--orders') o.orders = num();
    else if (a === '--per-step') o.perStep = num();
    else if (a === '--latency') o.latencyMs = num();
    else if (a === '--temporal') {
      const mode = temporalModeNamed(argv[++i] ?? '');
      if (!mode) throw new UsageError(`--temporal needs one of ${TEMPORAL_MODES.join(', ')}`);
      o.temporal = mode;
    } else if (a === '--json') o.json = true;
    else throw new UsageError(`unknown option ${a}`);
  }
  return { ...o, perStep: o.perStep ?? Math.max(10, Math.round(o.orders / 10)) };
}
