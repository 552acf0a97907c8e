import { z } from 'zod';

/**
 * What the engine reads from a destination's settings schema (zod): which fields are secrets
 * (`.meta({ writeOnly: true })`), which are file paths (`.meta({ format: 'path' })`), the JSON
 * Schema the types endpoint shows, and problems phrased as `settings.<key>: ...`.
 *
 * Only the top-level fields of the settings object are looked at: settings are flat (credentials
 * and account), and a secret is one field.
 */

/** How the API shows a secret field that is set; sending it back in a PUT keeps the stored value. */
export const SECRET_MASK = '********';

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; shape?: Record<string, z.ZodType> };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema and every wrapper inside it (optional, default, nullable, readonly, pipe, ...), outermost first. */
function layers(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [];
  let s: z.ZodType | undefined = schema;
  while (s && out.length < 20) {
    out.push(s);
    const def = defOf(s);
    s = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return out;
}

/** The metadata of a field, merged from its wrappers (an outer `.meta()` wins). */
export function fieldMeta(schema: z.ZodType): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const layer of layers(schema).reverse()) Object.assign(merged, layer.meta() ?? {});
  return merged;
}

/** The fields of an object schema (through wrappers and transforms); empty for anything else. */
export function settingsShape(schema: z.ZodType): Record<string, z.ZodType> {
  for (const layer of layers(schema)) {
    const def = defOf(layer);
    if (def.type === 'object' && def.shape) return def.shape;
  }
  return {};
}

/** The names of the secret fields: `.meta({ writeOnly: true })`, in order. */
export function secretFields(schema: z.ZodType): string[] {
  return Object.entries(settingsShape(schema))
    .filter(([, field]) => fieldMeta(field).writeOnly === true)
    .map(([key]) => key);
}

/** The names of the fields holding a file path (`.meta({ format: 'path' })`): relative ones resolve against the project folder. */
export function pathFields(schema: z.ZodType): string[] {
  return Object.entries(settingsShape(schema))
    .filter(([, field]) => fieldMeta(field).format === 'path')
    .map(([key]) => key);
}

/** A settings or options schema as JSON Schema (what a client may send), secret fields marked `writeOnly`. */
export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  const properties = json.properties as Record<string, Record<string, unknown>> | undefined;
  for (const key of secretFields(schema)) if (properties?.[key]) properties[key].writeOnly = true;
  return json;
}

/** Splits settings into the plain ones and the secret ones. */
export function splitSecrets(settings: Record<string, unknown>, secretKeys: readonly string[]): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) (secretKeys.includes(key) ? secrets : plain)[key] = value;
  return { plain, secrets };
}

/** A whole `${NAME}` reference: names a variable and holds no secret, so it may be shown. */
const WHOLE_ENV_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/**
 * Settings as the API shows them: every secret field that is set becomes SECRET_MASK (a file's
 * `${NAME}` reference is shown as written: it names where the secret comes from, not the secret).
 */
export function maskSecrets(settings: Record<string, unknown>, secretKeys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    const secret = secretKeys.includes(key) && value !== undefined && value !== null && value !== '';
    out[key] = secret && !(typeof value === 'string' && WHOLE_ENV_REF.test(value)) ? SECRET_MASK : value;
  }
  return out;
}

/** The string values of the secret fields (and of anything inside them), to redact from logs and errors. */
export function secretValues(settings: Record<string, unknown>, secretKeys: readonly string[]): string[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string' || typeof v === 'number') {
      const text = String(v);
      if (text.length >= 4) out.add(text); // shorter strings would redact half the log
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  for (const key of secretKeys) visit(settings[key]);
  return [...out];
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined;
  return v;
}

const dotted = (path: (string | number)[]): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/** A zod issue as `settings.<key>: message` (one per unknown key), the value never quoted (it may be a secret). */
export function settingsProblems(issue: z.core.$ZodIssue, prefix = 'settings', allowed: string[] = [], input?: unknown): string[] {
  const path = [prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${dotted([...path, k])}: unknown setting${allowed.length && issue.path.length === 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`);
  }
  const missing = issue.code === 'invalid_type' && (input === undefined ? /received undefined/.test(issue.message) : valueAt(input, path.slice(1)) === undefined);
  return [`${dotted(path)}: ${missing ? `required setting is missing (expected ${issue.expected})` : issue.message}`];
}

/** Validates settings against a schema: the parsed settings, or one problem per issue. */
export function validateSettings(schema: z.ZodType, settings: unknown, prefix = 'settings'): { ok: true; settings: Record<string, unknown> } | { ok: false; problems: string[] } {
  const parsed = schema.safeParse(settings);
  if (parsed.success) return { ok: true, settings: parsed.data as Record<string, unknown> };
  const allowed = Object.keys(settingsShape(schema));
  return { ok: false, problems: parsed.error.issues.flatMap((i) => settingsProblems(i, prefix, allowed, settings)) };
}
