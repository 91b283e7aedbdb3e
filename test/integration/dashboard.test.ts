import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import { callerApiKey } from '../../src/platform/security/credentials';
import { waitFor } from '../../src/platform/wait';
import { metricsUrls, processesToRun } from '../../src/processes/supervisor';
import { RUNNABLE_PROCESSES } from '../../src/processes/table';
import type { ProcessName } from '../../src/processes/table';
import { TEST_ENV, testConfig, uniqueId } from '../support/env';
import { http, orderBody, waitForOrder } from '../support/harness';

const DASHBOARD = path.join(projectRoot, 'deploy', 'grafana', 'dashboards', 'shipshape.json');

interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}
/** One metric a panel queries, with its label matchers, e.g. `shipshape_orders{process="api"}`. */
interface Selector {
  panel: string;
  metric: string;
  matchers: Matcher[];
}

/**
 * Every metric selector of every panel's PromQL. The dashboard queries Shipshape's own metrics only, each
 * with a selector that names the process exporting it (`process="api"` or `process=~"a|b"`).
 */
function dashboardSelectors(): Selector[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
  };
  return dashboard.panels
    .filter((p) => p.type !== 'row')
    .flatMap((panel) => {
      assert.ok(panel.targets?.length, `"${panel.title}" has queries`);
      return panel.targets.flatMap(({ expr }) => {
        const bare = [...expr.matchAll(/\b(shipshape_\w+)(?!\w|\s*\{)/g)].map((m) => m[1]);
        assert.deepEqual(bare, [], `"${panel.title}": every metric has a selector: ${expr}`);
        return [...expr.matchAll(/\b([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)].map((m) => ({
          panel: panel.title,
          metric: m[1]!,
          matchers: [...m[2]!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((l) => ({
            label: l[1]!,
            op: l[2] as Matcher['op'],
            value: l[3]!,
          })),
        }));
      });
    });
}

/** The processes a selector's `process` matcher names: one, or an alternation of names. */
function processesNamed(s: Selector): ProcessName[] {
  const m = s.matchers.find((x) => x.label === 'process');
  assert.ok(m && (m.op === '=' || m.op === '=~'), `"${s.panel}": ${s.metric} names its process`);
  const names = m.op === '=' ? [m.value] : m.value.split('|');
  for (const n of names)
    assert.ok(
      (RUNNABLE_PROCESSES as readonly string[]).includes(n),
      `"${s.panel}": no process ${n}`,
    );
  return names as ProcessName[];
}

interface Sample {
  name: string;
  labels: Record<string, string>;
}

/** The samples of a Prometheus text exposition: `name{a="x",b="y"} value`. */
function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line);
      assert.ok(m, `a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]),
      );
      return { name: m[1]!, labels };
    });
}

const matches = (sample: Sample, { label, op, value }: Matcher) => {
  const actual = sample.labels[label] ?? '';
  const full = new RegExp(`^(?:${value})$`);
  return op === '='
    ? actual === value
    : op === '!='
      ? actual !== value
      : op === '=~'
        ? full.test(actual)
        : !full.test(actual);
};

describe('the Grafana dashboard queries only metrics that the processes it names export (real processes)', function () {
  this.timeout(180_000);

  it('finds each panel metric, with its labels, on the /metrics of `shipshape run`', async () => {
    const selectors = dashboardSelectors();
    assert.ok(selectors.length >= 10, `${selectors.length} selectors`);

    const config = testConfig();
    const child = spawn(
      'node',
      [path.join(projectRoot, 'bin', 'shipshape.js'), 'run', '--no-stack'],
      {
        env: TEST_ENV,
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor('shipshape run to be ready', () => /Shipshape is running/.test(stderr), {
        timeoutMs: 90_000,
      });
      // One order through, so that accept latency and the services' counters have samples.
      const api = { apiUrl: `http://127.0.0.1:${config.api.port}`, apiKey: callerApiKey(config) };
      const sku = uniqueId('sku');
      await http(api, 'PUT', `/inventory/${sku}`, { available: 3 });
      const orderId = uniqueId('dashboard');
      const placed = await http(
        api,
        'POST',
        '/orders',
        orderBody({ orderId, customerId: uniqueId('c'), sku }),
      );
      assert.equal(placed.status, 202);
      assert.equal((await waitForOrder(api, orderId)).status, 'COMPLETED');

      const urls = metricsUrls(config, processesToRun(config));
      const exported = new Map<ProcessName, Sample[]>();
      for (const [name, url] of Object.entries(urls) as [ProcessName, string][]) {
        const res = await fetch(url, { headers: { authorization: `Bearer ${api.apiKey}` } });
        assert.equal(res.status, 200, `${name}: GET ${url}`);
        exported.set(name, samples(await res.text()));
      }
      for (const s of selectors) {
        for (const process of processesNamed(s)) {
          const found = exported.get(process);
          assert.ok(found, `"${s.panel}": ${process} serves no metrics`);
          assert.ok(
            found.some((x) => x.name === s.metric && s.matchers.every((m) => matches(x, m))),
            `"${s.panel}": ${process} exports no ${s.metric} with ${JSON.stringify(s.matchers)}`,
          );
        }
      }
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  });
});
