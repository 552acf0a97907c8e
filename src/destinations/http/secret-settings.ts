import type { z } from 'zod';

/**
 * The values of the settings fields marked `.meta({ writeOnly: true })` (strings, or every string in
 * a writeOnly object), so the HTTP client redacts them even if its caller passed no secrets.
 */
export function secretSettingValues(schema: z.ZodType, settings: unknown): string[] {
  const shape = (schema as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape || typeof settings !== 'object' || settings === null) return [];
  const values: string[] = [];
  for (const [name, field] of Object.entries(shape)) {
    if (isWriteOnly(field)) collectStrings((settings as Record<string, unknown>)[name], values);
  }
  return values;
}

function isWriteOnly(field: z.ZodType): boolean {
  let current: z.ZodType | undefined = field;
  while (current) {
    if (current.meta()?.writeOnly === true) return true;
    current = (current._zod.def as { innerType?: z.ZodType }).innerType;
  }
  return false;
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectStrings(v, into);
}
