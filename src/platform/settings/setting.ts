import { z } from 'zod';

/**
 * One environment variable Shipshape reads, said once: its name, what it means, and the zod schema
 * that reads it, with its default. The sections beside this file group them by the part of Shipshape
 * that owns them; config.ts puts them together, and docs/configuration.md is generated from them.
 */
export interface Setting<T> {
  env: string;
  doc: string;
  /** Reads the variable's text (undefined when unset or empty) into its value, default included. */
  schema: z.ZodType<T, string | undefined>;
  /** What leaving it unset means, when that is not a plain default value. */
  unset?: string;
  /** An earlier name, still read for one release with a warning that names `env`. */
  formerly?: string;
  /** Never shown: `shipshape config` prints that it is set, not its value. */
  secret?: boolean;
}

export type Section = Record<string, Setting<unknown>>;
export type Values<S extends Section> = {
  [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

type Extra = Pick<Setting<unknown>, 'unset' | 'formerly' | 'secret'>;

export const setting = <T>(
  env: string,
  schema: z.ZodType<T, string | undefined>,
  doc: string,
  extra: Extra = {},
): Setting<T> => ({ env, doc, schema, ...extra });

const MAX = Number.MAX_SAFE_INTEGER;

/** A whole number from `min` to `max`, `def` when unset. */
export function integer(
  def: number,
  min?: number,
  max?: number,
): z.ZodType<number, string | undefined>;
export function integer(
  def: undefined,
  min?: number,
  max?: number,
): z.ZodType<number | undefined, string | undefined>;
export function integer(
  def: number | undefined,
  min = 0,
  max = MAX,
): z.ZodType<number | undefined, string | undefined> {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be an integer from ${min} to ${max === MAX ? 'any size' : max}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });
}

/** Any text; `def` when unset. */
export function text(def: string): z.ZodType<string, string | undefined>;
export function text(): z.ZodType<string | undefined, string | undefined>;
export function text(def?: string): z.ZodType<string | undefined, string | undefined> {
  return z
    .string()
    .optional()
    .transform((v) => v ?? def);
}

/** Text that matches `pattern` (`what` says how, in the error); `def` when unset. */
export function matching(
  pattern: RegExp,
  what: string,
  def: string,
): z.ZodType<string, string | undefined>;
export function matching(
  pattern: RegExp,
  what: string,
): z.ZodType<string | undefined, string | undefined>;
export function matching(
  pattern: RegExp,
  what: string,
  def?: string,
): z.ZodType<string | undefined, string | undefined> {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return def;
      if (pattern.test(v)) return v;
      ctx.addIssue({ code: 'custom', message: `must be ${what}, got "${v}"` });
      return z.NEVER;
    });
}

/** A URL, without a trailing slash. */
export const url = (): z.ZodType<string | undefined, string | undefined> =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      try {
        return new URL(v).toString().replace(/\/$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a URL, got "${v}"` });
        return z.NEVER;
      }
    });

/** One of `values`; `def` when unset. */
export function oneOf<const V extends string>(
  values: readonly V[],
  def: V,
): z.ZodType<V, string | undefined>;
export function oneOf<const V extends string>(
  values: readonly V[],
): z.ZodType<V | undefined, string | undefined>;
export function oneOf<const V extends string>(
  values: readonly V[],
  def?: V,
): z.ZodType<V | undefined, string | undefined> {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return def;
      if ((values as readonly string[]).includes(v)) return v as V;
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}, got "${v}"` });
      return z.NEVER;
    });
}

/** `on` or `off`. */
export const onOff = (def: boolean): z.ZodType<boolean, string | undefined> =>
  oneOf(['on', 'off'], def ? 'on' : 'off').transform((v) => v === 'on');

/** Text that `parse` reads, or refuses with an error naming why. */
export const parsedBy = <T>(
  parse: (v: string | undefined) => T,
): z.ZodType<T, string | undefined> =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parse(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `is not valid: ${(err as Error).message}` });
        return z.NEVER;
      }
    });

/** What was wrong in reading the settings, and what was read under a former name. */
export interface Reading {
  problems: string[];
  renamed: { formerly: string; now: string }[];
}

/** The settings of `section` read from `env`, every problem and former name noted in `reading`. */
export function readSection<S extends Section>(
  section: S,
  env: NodeJS.ProcessEnv,
  reading: Reading,
): Values<S> {
  const values: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(section)) {
    let raw = env[s.env] || undefined;
    if (raw === undefined && s.formerly && env[s.formerly]) {
      raw = env[s.formerly];
      reading.renamed.push({ formerly: s.formerly, now: s.env });
    }
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else
      for (const issue of parsed.error.issues) reading.problems.push(`${s.env} ${issue.message}`);
  }
  return values as Values<S>;
}
