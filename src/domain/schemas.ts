import { z } from 'zod';
import type { CommandEnvelope, ReplyEnvelope } from './types';

/** Ids that end up in workflow ids, subjects and URLs: short, no spaces or separators. */
export const idSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'must be 1-64 letters, digits, "_", "-" or "." starting with a letter or digit',
  );

export const skuSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "-" or "."');

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 10_000;
export const MAX_UNIT_PRICE_CENTS = 100_000_000;

const addressSchema = z.union([
  z.string().trim().min(1, 'must not be empty').max(500),
  z.object({
    name: z.string().max(200).optional(),
    line1: z.string().trim().min(1, 'is required').max(200),
    line2: z.string().max(200).optional(),
    city: z.string().trim().min(1, 'is required').max(100),
    postalCode: z.string().max(20).optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be a two-letter country code'),
  }),
]);

export const orderItemSchema = z.object({
  sku: skuSchema,
  quantity: z.number().int('must be a whole number').min(1).max(MAX_QUANTITY),
  unitPriceCents: z.number().int('must be whole cents').min(0).max(MAX_UNIT_PRICE_CENTS),
});

export const orderRequestSchema = z.object({
  orderId: idSchema.optional(),
  customerId: idSchema,
  items: z.array(orderItemSchema).min(1, 'must hold at least one item').max(MAX_ITEMS),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code such as "EUR"'),
  shippingAddress: addressSchema,
  paymentMethod: z.string().min(1).max(100).optional(),
});
export type OrderRequestBody = z.infer<typeof orderRequestSchema>;

export const inventoryPutSchema = z.object({
  available: z.number().int('must be a whole number').min(0).max(1_000_000_000),
});

const itemsSchema = z.array(z.object({ sku: skuSchema, quantity: z.number().int().min(1) })).min(1);

const payloadSchemas = {
  'inventory.reserve': z.object({ items: itemsSchema }),
  'inventory.commit': z.object({ reserveCommandId: z.string().min(1) }),
  'inventory.release': z.object({ reserveCommandId: z.string().min(1) }),
  'payment.charge': z.object({
    customerId: z.string().min(1),
    amountCents: z.number().int().min(0),
    currency: z.string().length(3),
  }),
  'payment.refund': z.object({
    chargeCommandId: z.string().min(1),
    amountCents: z.number().int().min(0),
  }),
  'loyalty.award': z.object({
    customerId: z.string().min(1),
    orderTotalCents: z.number().int().min(0),
  }),
  'loyalty.reverse': z.object({ awardCommandId: z.string().min(1), customerId: z.string().min(1) }),
  'shipping.create': z.object({ address: addressSchema, items: itemsSchema }),
  'shipping.cancel': z.object({ createCommandId: z.string().min(1) }),
} as const;

const envelopeBase = z.object({
  commandId: z.string().min(1).max(300),
  orderId: z.string().min(1),
  workflowId: z.string().min(1),
  seq: z.number().int().min(1),
});

/** Parses a command off the wire; a failure means the message is poison and must not be retried. */
export function parseCommand(raw: unknown): CommandEnvelope {
  const base = envelopeBase.extend({
    type: z.enum(Object.keys(payloadSchemas) as [keyof typeof payloadSchemas]),
  });
  const head = base.loose().parse(raw);
  const payload = payloadSchemas[head.type].parse((raw as { payload?: unknown }).payload);
  return { ...head, payload };
}

const replySchema = z.object({
  replyId: z.string().min(1),
  commandId: z.string().min(1),
  type: z.enum(Object.keys(payloadSchemas) as [keyof typeof payloadSchemas]),
  orderId: z.string().min(1),
  workflowId: z.string().min(1),
  outcome: z.enum(['succeeded', 'rejected']),
  result: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export function parseReply(raw: unknown): ReplyEnvelope {
  return replySchema.parse(raw);
}

/** Turns zod issues into `{ field, message }` pairs that name each bad field. */
export function describeIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join('.') : '(body)',
    message: i.message,
  }));
}
