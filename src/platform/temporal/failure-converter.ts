import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Moves every failure's message and stack trace into its encoded attributes, so they pass through the
 * payload codec like any payload: a failure can quote an address or a provider's answer. Loaded by path
 * (`failureConverterPath`) in the worker, the client and the workflow bundle alike.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
