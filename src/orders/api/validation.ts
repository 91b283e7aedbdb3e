import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { describeIssues } from '../../domain/schemas';

export interface Issue {
  field: string;
  message: string;
}

/** The 400 body: `{ error, message, issues: [{ field, message }] }`, naming each bad field, echoing no value. */
export function badRequest(issues: Issue[]) {
  return {
    error: 'invalid_request',
    message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  };
}

/**
 * A part of a request and the schema it must meet: a path parameter or header (named by `field`, so its
 * issue names it), or the body (whose issues name their own fields).
 */
type Part<S extends z.ZodType> = { schema: S; value: unknown; field?: string };

/**
 * Checks every part of a request, so that one 400 names every bad field at once; answers that 400 and
 * returns undefined, or returns the parsed parts.
 */
export function checked<P extends Record<string, Part<z.ZodType>>>(
  reply: FastifyReply,
  parts: P,
): { [K in keyof P]: z.infer<P[K]['schema']> } | undefined {
  const issues: Issue[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, { schema, value, field }] of Object.entries(parts)) {
    const r = schema.safeParse(value);
    if (r.success) values[name] = r.data;
    else if (field) issues.push({ field, message: r.error.issues[0]!.message });
    else issues.push(...describeIssues(r.error));
  }
  if (issues.length) {
    void reply.code(400).send(badRequest(issues));
    return undefined;
  }
  return values as { [K in keyof P]: z.infer<P[K]['schema']> };
}
