/**
 * Who may say what to an order's workflow. The inputs a workflow acts on without question — a
 * service's reply, a dead letter's notice, an operator's resolve, a start whose order the API already
 * recorded, the cleanup of a closed run — count only when the process that produces them signed them;
 * the Temporal worker checks each signature before the workflow sees the input (signing-codecs.ts) and
 * marks a verified input with its signer, under a key no JSON can carry. Anything else — what an
 * operator sends with Temporal's CLI or UI, through the codec server's encode or not — arrives
 * unmarked and is trusted for nothing but a reconcile or a cancel.
 *
 * Pure code without I/O: workflow code and the workflow bundle's payload converter import it.
 */

/** The processes that sign what they send to workflows, each with keys of its own. */
export const SIGNERS = ['api', 'reply-bridge', 'reconciler'] as const;
export type Signer = (typeof SIGNERS)[number];

export const isSigner = (name: string): name is Signer =>
  (SIGNERS as readonly string[]).includes(name);

/**
 * The `encoding` of a payload whose signature the worker has verified. Only the worker's codec sets it,
 * after the check; a payload that arrives carrying it is refused (signing-codecs.ts).
 */
export const VERIFIED_ENCODING = 'json/shipshape-verified';
/** Payload metadata: who signed it, with which key, and the signature. */
export const SIGNER_METADATA = 'shipshape-signer';
export const SIGNING_KEY_METADATA = 'shipshape-signing-key-id';
export const SIGNATURE_METADATA = 'shipshape-signature';

/** The property that holds a verified input's signer: a symbol, which no JSON value can hold. */
export const SIGNED_BY: unique symbol = Symbol.for('shipshape.signed-by');

/** The process that signed this input, when the worker verified its signature; undefined otherwise. */
export function signerOf(input: unknown): Signer | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const signer = (input as { [SIGNED_BY]?: unknown })[SIGNED_BY];
  return typeof signer === 'string' && isSigner(signer) ? signer : undefined;
}

/** Marks a value as signed by `signer` (the worker's payload converter, once the codec verified it). */
export function markSigned<T>(value: T, signer: Signer): T {
  if (typeof value === 'object' && value !== null)
    Object.defineProperty(value, SIGNED_BY, { value: signer, enumerable: false });
  return value;
}
