import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../src/platform/wait';
import { temporalUiBinary } from './binaries';
import { commandLine, isAlive, portAnswers, spawnDetached, stopPid, tailFile } from './process';

/**
 * The Temporal UI server beside the local cluster (the dev server has its own UI built in): the same
 * UI, reached on the same port, talking to the cluster through its forwarder and decoding payloads
 * through the codec server.
 */

export interface TemporalUiOptions {
  /** Folder for its config, log and pid file. */
  dir: string;
  binCacheDir: string;
  port: number;
  /** The cluster's forwarder. */
  temporalAddress: string;
  namespace: string;
  codecEndpoint: string;
  /** Its client certificate for the cluster's frontend, and the CA the frontend's is checked against. */
  tls: { serverName: string; caFile: string; certFile: string; keyFile: string };
  log?: (line: string) => void;
}

export interface TemporalUiPaths {
  configDir: string;
  logFile: string;
  pidFile: string;
}

export function temporalUiPaths(dir: string): TemporalUiPaths {
  return {
    configDir: path.join(dir, 'config'),
    logFile: path.join(dir, 'ui.log'),
    pidFile: path.join(dir, 'ui.pid'),
  };
}

/** The UI server's pid while it runs from `dir`. */
export function temporalUiPid(dir: string): number | undefined {
  const { pidFile } = temporalUiPaths(dir);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // Its command line names the folder (--root): a recycled pid does not.
  return Number.isInteger(pid) && isAlive(pid) && commandLine(pid).includes(path.resolve(dir))
    ? pid
    : undefined;
}

/** ui-server reads `<config dir>/<env>.yaml`; ours is `shipshape.yaml`. */
function uiConfig(o: TemporalUiOptions): string {
  return [
    '# Written by shipshape (tooling/stack/temporal-ui.ts).',
    `temporalGrpcAddress: ${o.temporalAddress}`,
    'host: 127.0.0.1',
    `port: ${o.port}`,
    'enableUi: true',
    `defaultNamespace: ${o.namespace}`,
    'disableNewsFetch: true',
    'notifyOnNewVersion: false',
    'codec:',
    `  endpoint: ${o.codecEndpoint}`,
    // The frontend wants a client certificate; the UI server checks the frontend's in turn (without
    // enableHostVerification it would take any).
    'tls:',
    `  caFile: ${JSON.stringify(o.tls.caFile)}`,
    `  certFile: ${JSON.stringify(o.tls.certFile)}`,
    `  keyFile: ${JSON.stringify(o.tls.keyFile)}`,
    `  serverName: ${o.tls.serverName}`,
    '  enableHostVerification: true',
    '',
  ].join('\n');
}

/** SIGTERM the UI server if it runs from `dir`. */
export async function stopTemporalUi(dir: string): Promise<void> {
  await stopPid(temporalUiPid(dir), 'the Temporal UI', 10_000);
}

/** Starts the UI server unless it runs; returns once its port answers. */
export async function startTemporalUi(o: TemporalUiOptions): Promise<number> {
  const running = temporalUiPid(o.dir);
  if (running !== undefined) return running;
  const bin = await temporalUiBinary(o.binCacheDir, o.log ?? (() => undefined));
  const p = temporalUiPaths(o.dir);
  mkdirSync(p.configDir, { recursive: true });
  writeFileSync(path.join(p.configDir, 'shipshape.yaml'), uiConfig(o));
  o.log?.(`starting the Temporal UI on http://127.0.0.1:${o.port}`);
  const pid = spawnDetached(
    bin,
    ['--root', path.resolve(o.dir), '--config', 'config', '--env', 'shipshape', 'start'],
    p.logFile,
    o.dir,
  );
  writeFileSync(p.pidFile, String(pid));
  try {
    await waitFor(
      'the Temporal UI to answer',
      async () => {
        if (!isAlive(pid)) throw new Error('the Temporal UI server exited');
        return portAnswers(o.port);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\n--- ${p.logFile} (tail) ---\n${tailFile(p.logFile)}`,
      { cause: err },
    );
  }
  return pid;
}
