import type { Config } from '../../src/platform/config';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';

/**
 * The API key the bench's load sends. SHIPSHAPE_CALLER_API_KEY when set (as the CLI does), else the
 * local stack's `client` key (orders:write, what a program placing orders holds) or `operator` key.
 * Only its kind is ever reported, never the secret.
 */
export const API_KEY_CHOICES = ['client', 'operator'] as const;
export type ApiKeyChoice = (typeof API_KEY_CHOICES)[number];

export function apiKeyFor(config: Config, choice: ApiKeyChoice): { secret: string; kind: string } {
  if (config.api.callerKey)
    return { secret: config.api.callerKey, kind: 'SHIPSHAPE_CALLER_API_KEY' };
  const secret = readLocalSecrets(config.stack.dir)?.apiKeys[choice];
  if (!secret)
    throw new Error(`no ${choice} API key in the bench stack's secrets (${config.stack.dir})`);
  return { secret, kind: `the local stack's ${choice} key` };
}
