import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import { makeDeploymentSecrets } from './secrets';

/** `npm run deploy:secrets [-- <dir>]`: the secret files docker-compose.yml mounts (tooling/deploy/secrets.ts). */
function main(argv: string[]): void {
  const dir = path.resolve(argv[0] ?? path.join(projectRoot, 'deploy', 'secrets'));
  const made = makeDeploymentSecrets(dir);
  process.stdout.write(
    made.length
      ? `made ${made.length} files in ${dir}: ${made.join(', ')}\n`
      : `every secret is already in ${dir}\n`,
  );
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`deploy:secrets: ${(err as Error).message}\n`);
  process.exit(1);
}
