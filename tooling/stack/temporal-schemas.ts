import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Creates or upgrades a Temporal cluster's two schemas (`<database>` and `<database>_visibility`)
 * with the server's own tool, from the schemas built into it
 * (`setup-schema -v 0.0` starts versioning an empty database; `update-schema` applies what is
 * missing, nothing on a current one). The password goes through the environment, not the command line.
 */
export async function applySchemas(
  sqlTool: string,
  opts: { database: string; postgres: { port: number } },
  password: string,
  log: (line: string) => void,
): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(opts.postgres.port),
    SQL_USER: opts.database,
    SQL_PASSWORD: password,
  };
  for (const [database, schema] of [
    [opts.database, 'temporal'],
    [`${opts.database}_visibility`, 'visibility'],
  ] as const) {
    const tool = (...args: string[]) =>
      run(sqlTool, ['--db', database, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
    try {
      await tool('setup-schema', '-v', '0.0');
      await tool('update-schema', '--schema-name', `postgresql/v12/${schema}`);
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(
        `the schema of ${database} could not be applied: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-5).join('\n')}`,
        { cause: err },
      );
    }
  }
  log(`Temporal schemas current in ${opts.database} and ${opts.database}_visibility`);
}
