/** A failure that may pass (provider 5xx or timeout, database unavailable): the command is redelivered later. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** A message that can never be handled (bad JSON, fails its schema, unknown type): terminated, not retried. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  // pg connection failures and server shutdowns: the database will be back.
  const code = (err as { code?: string })?.code ?? '';
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      '57P01',
      '57P02',
      '57P03',
      '08006',
      '08001',
      '08003',
      '40001',
      '40P01',
    ].includes(code) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(
      (err as Error)?.message ?? '',
    )
  );
}
