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
/** Loyalty points (1 per 100 cents) are kept as 32-bit integers: an order's total stays well below. */
export const MAX_ORDER_TOTAL_CENTS = 10_000_000_000;
export const MAX_STOCK = 1_000_000_000;

/**
 * Free text (address lines, payment method, reasons): bounded, and without control characters other
 * than tab and line breaks: PostgreSQL text refuses NUL, and the rest would only garble labels.
 */
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    .regex(/^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$/, 'must not contain control characters');
const requiredText = (max: number, empty = 'must not be empty') => text(max).trim().min(1, empty);

const addressSchema = z.union([
  requiredText(500),
  z.strictObject({
    name: text(200).optional(),
    line1: requiredText(200, 'is required'),
    line2: text(200).optional(),
    city: requiredText(100, 'is required'),
    postalCode: text(20).optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be a two-letter country code'),
  }),
]);

export const orderItemSchema = z.strictObject({
  sku: skuSchema,
  quantity: z.number().int('must be a whole number').min(1).max(MAX_QUANTITY),
  unitPriceCents: z
    .number()
    .int('must be whole cents')
    .min(1, 'must be at least 1 cent')
    .max(MAX_UNIT_PRICE_CENTS),
});

/** A value sealed with a data key (src/domain/sealed.ts): its contents are not ours to check here. */
const sealedSchema = z.strictObject({
  sealed: z
    .string()
    .regex(
      /^pd1:[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[A-Za-z0-9+/]+={0,2}$/,
      'must be pd1:<key id>:<base64>',
    ),
});

const orderFields = {
  orderId: idSchema.optional(),
  customerId: idSchema,
  items: z.array(orderItemSchema).min(1, 'must hold at least one item').max(MAX_ITEMS),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code such as "EUR"'),
  shippingAddress: addressSchema,
  paymentMethod: requiredText(100).optional(),
};

/** Loyalty points are 32-bit integers: an order's total stays below their limit. */
const totalWithinLimit = (o: { items?: unknown }) =>
  // Defensive: may run beside other issues, so the items are not assumed well-formed.
  (Array.isArray(o.items)
    ? (o.items as { quantity?: unknown; unitPriceCents?: unknown }[])
    : []
  ).reduce((sum, i) => sum + (Number(i?.quantity) || 0) * (Number(i?.unitPriceCents) || 0), 0) <=
  MAX_ORDER_TOTAL_CENTS;
const totalMessage = {
  path: ['items'],
  message: `the order's total must be at most ${MAX_ORDER_TOTAL_CENTS} cents`,
};

export const orderRequestSchema = z
  .strictObject(orderFields)
  .refine(totalWithinLimit, totalMessage);
/**
 * An order as it is kept once accepted: the same fields, its personal ones sealed (an order written to
 * the orders table holds no address in clear).
 */
export const acceptedOrderSchema = z
  .strictObject({
    ...orderFields,
    orderId: idSchema,
    shippingAddress: sealedSchema,
    paymentMethod: sealedSchema.optional(),
  })
  .refine(totalWithinLimit, totalMessage);

export type OrderRequestBody = z.infer<typeof orderRequestSchema>;

export const inventoryPutSchema = z.strictObject({
  available: z.number().int('must be a whole number').min(0).max(MAX_STOCK),
});

/** The optional body of cancel and reconcile: why, for the order's history. */
export const actionBodySchema = z.strictObject({ reason: text(200).optional() });

/** The body of resolve: retry the step that is stuck, or give up and compensate. */
export const resolveBodySchema = z.strictObject({
  action: z.enum(['retry', 'give-up']),
  reason: text(200).optional(),
});

const itemsSchema = z.array(z.object({ sku: skuSchema, quantity: z.number().int().min(1) })).min(1);

const payloadSchemas = {
  'inventory.reserve': z.object({ items: itemsSchema }),
  'inventory.commit': z.object({ reserveCommandId: z.string().min(1) }),
  'inventory.release': z.object({ reserveCommandId: z.string().min(1).optional() }),
  'payment.charge': z.object({
    customerId: z.string().min(1),
    amountCents: z.number().int().min(0),
    currency: z.string().length(3),
  }),
  'payment.refund': z.object({
    chargeCommandId: z.string().min(1).optional(),
    amountCents: z.number().int().min(0),
  }),
  'loyalty.award': z.object({
    customerId: z.string().min(1),
    orderTotalCents: z.number().int().min(0),
  }),
  'loyalty.reverse': z.object({
    awardCommandId: z.string().min(1).optional(),
    customerId: z.string().min(1),
  }),
  'shipping.create': z.object({
    address: z.union([sealedSchema, addressSchema]),
    items: itemsSchema,
  }),
  'shipping.cancel': z.object({ createCommandId: z.string().min(1).optional() }),
} as const;

const envelopeBase = z.object({
  commandId: z.string().min(1).max(300),
  orderId: z.string().min(1),
  workflowId: z.string().min(1),
  seq: z.number().int().min(1),
  replyTo: z.string().min(1).max(400).optional(),
  sentBy: z.object({ runId: z.string().min(1).max(100), at: z.number().int().min(0) }).optional(),
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
  replyTo: z.string().min(1).max(400).optional(),
});

export function parseReply(raw: unknown): ReplyEnvelope {
  return replySchema.parse(raw);
}

/** Turns zod issues into `{ field, message }` pairs that name each bad field. */
export function describeIssues(error: z.ZodError): { field: string; message: string }[] {
  const field = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : '(body)');
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({
          field: field([...i.path, fieldName(k)]),
          message: 'is not a known field',
        }))
      : [{ field: field(i.path), message: i.message }],
  );
}

/** An unknown field's name is echoed only when it looks like a name; anything else could be data. */
function fieldName(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(key) ? key : '(unknown field)';
}
