import assert from 'node:assert/strict';
import { stackPorts } from '../../src/platform/settings/stack-ports';
import type { StackPorts } from '../../src/platform/settings/stack-ports';
import { BENCH_PORT_OFFSET } from '../../tooling/bench/bench-stack';
import { CHAOS_PORT_OFFSET } from '../../tooling/chaos/campaign';
import { RELEASE_DRILL_PORT_OFFSET } from '../../tooling/release-drill/options';
import { natsClusterBasePort } from '../../tooling/stack/nats-cluster';
import { BESIDE_TEST_STACK } from '../support/env';

/** What a stack may listen on beyond its own ports, by what it starts. */
const EXTRAS = {
  /** `--temporal cluster`: two nodes of ten ports each from temporalCluster. */
  temporalCluster: (p: StackPorts) => range(p.temporalCluster, 20),
  /** The scale-out and dynamic-config tests' second Temporal cluster, and its forwarder. */
  secondTemporalCluster: (p: StackPorts) => range(p.temporalCluster + 20, 21),
  /** A three-node NATS cluster (the chaos campaign's `--cluster`, scale-out, the deployment test). */
  natsCluster: (p: StackPorts) => range(natsClusterBasePort(p.nats), 23),
};
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

const TEST = 100;
/** Every stack the project starts, with its default offset: any two may run at once. */
const STACKS: { name: string; offset: number; extras: (keyof typeof EXTRAS)[] }[] = [
  { name: 'the local stack', offset: 0, extras: ['temporalCluster'] },
  { name: 'the chaos stack', offset: CHAOS_PORT_OFFSET, extras: ['natsCluster'] },
  { name: 'the bench stack', offset: BENCH_PORT_OFFSET, extras: ['temporalCluster'] },
  { name: "the release drill's", offset: RELEASE_DRILL_PORT_OFFSET, extras: ['temporalCluster'] },
  {
    name: 'the test stack',
    offset: TEST,
    extras: ['secondTemporalCluster', 'natsCluster'],
  },
  { name: "the chaos test's", offset: TEST + BESIDE_TEST_STACK.chaos, extras: [] },
  { name: "the stack test's", offset: TEST + BESIDE_TEST_STACK.stack, extras: ['temporalCluster'] },
  {
    name: "the deployment test's",
    offset: TEST + BESIDE_TEST_STACK.deployment,
    extras: ['temporalCluster', 'natsCluster'],
  },
];

/** Every port a stack may listen on, named; `shipshape run` gives up to 20 processes metrics ports. */
function portsOf(stack: (typeof STACKS)[number]): Map<number, string> {
  const p = stackPorts(stack.offset);
  const out = new Map<number, string>();
  for (const [name, port] of Object.entries(p) as [string, number][])
    for (const q of name === 'metricsBase' ? range(port, 20) : [port]) out.set(q, name);
  for (const extra of stack.extras) for (const q of EXTRAS[extra](p)) out.set(q, extra);
  return out;
}

describe('the stacks the project starts', () => {
  it('never share a port, so any of them may be left up while another runs', () => {
    const clashes: string[] = [];
    for (const [i, a] of STACKS.entries())
      for (const b of STACKS.slice(i + 1)) {
        const theirs = portsOf(b);
        for (const [port, what] of portsOf(a))
          if (theirs.has(port))
            clashes.push(`${port}: ${a.name} (${what}) and ${b.name} (${theirs.get(port)})`);
      }
    assert.deepEqual(clashes, []);
  });
});
