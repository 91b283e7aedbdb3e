import { existsSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { distDir } from '../paths';

const workflowsDir = path.join(distDir, 'workflows');
const bundleFiles = {
  traced: path.join(distDir, 'workflow-bundle.js'),
  untraced: path.join(distDir, 'workflow-bundle-untraced.js'),
};

function newestMtime(dir: string): number {
  return Math.max(...readdirSync(dir).map((f) => statSync(path.join(dir, f)).mtimeMs));
}

/**
 * Workflow code bundled for a worker that uses `temporalDataConverter`: failure messages and stack
 * traces made inside workflows are encoded too (see failure-converter.ts). Quiet but for errors.
 */
export async function bundleWorkflows(
  workflowsPath: string,
  workflowInterceptorModules: string[] = [],
): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    failureConverterPath: require.resolve('./failure-converter'),
    payloadConverterPath: require.resolve('./payload-converter'),
    workflowInterceptorModules,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  return code;
}

/**
 * The workflow code bundled once per build and kept beside it, so each worker start (and each test)
 * skips the several seconds bundling takes. `traced`: with OpenTelemetry's workflow interceptors, for a
 * worker whose spans go somewhere; without them a workflow task does no tracing work at all.
 */
export async function workflowBundlePath(traced = true): Promise<string> {
  const bundleFile = bundleFiles[traced ? 'traced' : 'untraced'];
  // Rebuilt when the workflow code, the pure code it imports, these bundling options (this file) or
  // the converters changed.
  const sources = Math.max(
    newestMtime(workflowsDir),
    newestMtime(path.join(distDir, 'src', 'domain')),
    statSync(__filename).mtimeMs,
    statSync(require.resolve('./failure-converter')).mtimeMs,
    statSync(require.resolve('./payload-converter')).mtimeMs,
  );
  if (existsSync(bundleFile) && statSync(bundleFile).mtimeMs >= sources) return bundleFile;
  const code = await bundleWorkflows(
    require.resolve(path.join(workflowsDir, 'index.js')),
    // Tracing inside workflows; its spans leave through the worker's `exporter` sink.
    traced
      ? [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')]
      : [],
  );
  const tmp = `${bundleFile}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, bundleFile);
  return bundleFile;
}
