import { ConfigError } from '../../src/platform/config';
import { formatReport, jsonSummary, runCampaign } from './campaign';
import { CLUSTER_FAULTS, FAULTS, QUICK_FAULTS } from './faults';

const HELP = `Usage: npm run chaos -- [options]

Runs the chaos campaign: starts its own stack (SHIPSHAPE_STACK_DIR, default .shipshape-chaos; port
offset SHIPSHAPE_PORT_OFFSET, default 50) and every process of the app, places orders through the API
at a steady rate, injects faults one after another, brings back what was killed, waits until every
order has settled and checks the invariants against the provider ledgers and the databases.
Exits 0 when no invariant is violated, 1 otherwise, 2 on bad usage. With SHIPSHAPE_TEMPORAL=cluster
the full campaign runs on the Temporal cluster (temporal-node-kill in place of temporal-restart).

Options:
  --quick          a short run: ${QUICK_FAULTS.length} fault kinds (part of npm test)
  --cluster        on a three-node NATS cluster with R3 streams and a two-node Temporal
                   cluster (the stack's, as \`stack up --temporal cluster\` starts it); default faults:
                   ${CLUSTER_FAULTS.join(', ')}
  --seed N         the seed of every choice (faults, targets, timings, orders); default 1
  --faults a,b     only these fault kinds, in this order
  --rounds N       go through the list of faults N times (default 1)
  --keep-stack     leave the stack running at the end
  --json           print one JSON line last: { orders, faultsInjected, violations, convergeSeconds, byFault }
  --help           this text

Fault kinds:
${FAULTS.map((f) => `  ${f.name.padEnd(38)} (${f.group}) ${f.summary}`).join('\n')}
`;

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const opts = {
    cluster: false,
    quick: false,
    seed: 1,
    json: false,
    keepStack: false,
    rounds: 1,
    faults: [] as string[],
    help: false,
  };
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined || !/^\d+$/.test(v))
      throw new UsageError(`${flag} needs a whole number, got "${v ?? ''}"`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') opts.quick = true;
    else if (a === '--cluster') opts.cluster = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--keep-stack') opts.keepStack = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a === '--seed') opts.seed = int(a, argv[++i]);
    else if (a === '--rounds') opts.rounds = Math.max(1, int(a, argv[++i]));
    else if (a === '--faults') {
      const v = argv[++i];
      if (!v) throw new UsageError('--faults needs a comma-separated list of fault kinds');
      opts.faults = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = opts.faults.filter((f) => !FAULTS.some((k) => k.name === f));
      if (unknown.length)
        throw new UsageError(`unknown fault kind ${unknown.join(', ')}; see --help for the list`);
    } else throw new UsageError(`unknown option "${a}"; see --help`);
  }
  return opts;
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`chaos: ${err.message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const log = (line: string) =>
    process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const report = await runCampaign({
    seed: opts.seed,
    quick: opts.quick,
    cluster: opts.cluster,
    ...(opts.faults.length ? { faults: opts.faults } : {}),
    rounds: opts.rounds,
    keepStack: opts.keepStack,
    log,
  });
  process.stdout.write(`${formatReport(report)}\n`);
  if (opts.json) process.stdout.write(`${jsonSummary(report)}\n`);
  return report.violations.length === 0 && report.convergeSeconds !== null ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
