import {
  BinaryPayloadConverter,
  CompositePayloadConverter,
  JsonPayloadConverter,
  UndefinedPayloadConverter,
  ValueError,
} from '@temporalio/common';
import type { Payload, PayloadConverterWithEncoding } from '@temporalio/common';
import { decode } from '@temporalio/common/lib/encoding';
import { isSigner, markSigned, SIGNER_METADATA, VERIFIED_ENCODING } from '../../domain/provenance';

/**
 * Reads a payload whose signature the worker's codec verified (VERIFIED_ENCODING) as its JSON value
 * marked with its signer (src/domain/provenance.ts). It never writes one: only the codec's check makes
 * such a payload. Runs inside the workflow sandbox (loaded by path, like the failure converter).
 */
class VerifiedJsonPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = VERIFIED_ENCODING;

  toPayload(): undefined {
    return undefined;
  }

  fromPayload<T>(payload: Payload): T {
    if (!payload.data) throw new ValueError('verified payload without data');
    const signer = payload.metadata?.[SIGNER_METADATA];
    const value = JSON.parse(decode(payload.data)) as T;
    const name = signer ? decode(signer) : '';
    return isSigner(name) ? markSigned(value, name) : value;
  }
}

/** The SDK's default converters, plus the verified-payload reader. */
export const payloadConverter = new CompositePayloadConverter(
  new UndefinedPayloadConverter(),
  new BinaryPayloadConverter(),
  new JsonPayloadConverter(),
  new VerifiedJsonPayloadConverter(),
);
