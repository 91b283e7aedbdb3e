import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface NatsPaths {
  dir: string;
  configFile: string;
  logFile: string;
  storeDir: string;
}

export function natsPaths(stackDir: string): NatsPaths {
  const dir = path.join(stackDir, 'nats');
  return {
    dir,
    configFile: path.join(dir, 'nats.conf'),
    logFile: path.join(dir, 'nats.log'),
    storeDir: path.join(dir, 'jetstream'),
  };
}

/**
 * Writes the server's configuration: loopback only, JetStream on file storage that is
 * fsynced on every write (`sync_interval: always`), so an acknowledged publish survives a crash.
 */
export function writeNatsConfig(stackDir: string, port: number, monitorPort: number): NatsPaths {
  const p = natsPaths(stackDir);
  mkdirSync(p.storeDir, { recursive: true });
  writeFileSync(
    p.configFile,
    [
      `server_name: shipshape_local`,
      `listen: 127.0.0.1:${port}`,
      `http: 127.0.0.1:${monitorPort}`,
      `jetstream {`,
      `  store_dir: ${JSON.stringify(p.storeDir)}`,
      `  sync_interval: always`,
      `}`,
      '',
    ].join('\n'),
  );
  return p;
}

export async function natsAnswers(monitorPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`, {
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}
