import Handlebars from 'handlebars';
import { RowError } from '../destinations/destination-errors';
import type { FieldMapping, FieldType } from './sync-definition';
import { SyncDefinitionError } from './sync-definition';

/**
 * A sync's mapping compiled once per run: which source columns it reads (they are what the diff
 * hashes, so a change to any of them, and only to them, re-sends the row) and how a row becomes the
 * fields sent (columns, static values, Handlebars templates for personalized fields, casts, nulls).
 */
export interface CompiledMapping {
  /** the source columns the mapping reads, sorted */
  columns: string[];
  /** the fields of one row, nested by dots; a value that cannot be cast throws RowError */
  render(row: Record<string, unknown>): Record<string, unknown>;
}

/** Helpers a template may use, besides Handlebars' own (if, unless, each, with, lookup). */
const helpers: Record<string, Handlebars.HelperDelegate> = {
  default: (value: unknown, fallback: unknown) => (value === null || value === undefined || value === '' ? fallback : value),
  upper: (value: unknown) => text(value).toUpperCase(),
  lower: (value: unknown) => text(value).toLowerCase(),
  capitalize: (value: unknown) => text(value).charAt(0).toUpperCase() + text(value).slice(1),
};
function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  const v = plain(value);
  return typeof v === 'string' ? v : JSON.stringify(v);
}
const BUILTINS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log', ...Object.keys(helpers)]);

const hbs = Handlebars.create();
for (const [n, h] of Object.entries(helpers)) hbs.registerHelper(n, h);

interface FieldPlan {
  path: string[];
  get(row: Record<string, unknown>): unknown;
  type?: FieldType;
  skipNull: boolean;
}

/**
 * Compiles a mapping against the source's columns. `where` names the definition in errors
 * (`syncs/x.yaml`); an unknown column or a template naming one is a SyncDefinitionError naming the key.
 */
export function compileMapping(mapping: Record<string, FieldMapping>, sourceColumns: string[], options: { skipNulls: boolean; where: string }): CompiledMapping {
  const known = new Map(sourceColumns.map((c) => [c.toLowerCase(), c]));
  const used = new Set<string>();
  const column = (name: string, key: string): string => {
    const c = known.get(name.toLowerCase());
    if (!c) throw new SyncDefinitionError(`${options.where}: mapping.${key}: the source has no column "${name}" (columns: ${sourceColumns.join(', ')})`);
    used.add(c);
    return c;
  };
  const fields: FieldPlan[] = Object.entries(mapping).map(([key, m]) => {
    const path = key.split('.');
    const spec = typeof m === 'string' ? (m.includes('{{') ? { template: m } : { column: m }) : m;
    if ('value' in spec) return { path, get: () => spec.value, skipNull: false };
    const skipNull = spec.skip_null ?? options.skipNulls;
    if ('column' in spec) {
      const c = column(spec.column, key);
      return { path, get: (row) => row[c], type: spec.type, skipNull };
    }
    let template: HandlebarsTemplateDelegate;
    try {
      for (const name of templateVariables(spec.template)) column(name, key);
      template = hbs.compile(spec.template, { noEscape: true, strict: false });
    } catch (e) {
      if (e instanceof SyncDefinitionError) throw e;
      throw new SyncDefinitionError(`${options.where}: mapping.${key}: template error: ${(e as Error).message.split('\n')[0]}`);
    }
    return { path, get: (row) => template(templateContext(row)), type: spec.type, skipNull };
  });
  return {
    columns: [...used].sort(),
    render(row) {
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        const raw = f.get(row);
        const value = raw === null || raw === undefined ? null : f.type ? cast(raw, f.type, f.path.join('.')) : plain(raw);
        if (value === null && f.skipNull) continue;
        setPath(out, f.path, value);
      }
      return out;
    },
  };
}

/** The variables a template reads (the head of each path), without helpers and block params. */
export function templateVariables(template: string): string[] {
  const ast = Handlebars.parse(template);
  const names = new Set<string>();
  const visit = (node: unknown, blockParams: Set<string>): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; original?: string; head?: unknown; data?: boolean; parts?: string[]; path?: unknown; program?: { blockParams?: string[] } };
    if (n.type === 'PathExpression') {
      const head = n.parts?.[0];
      if (!n.data && head && !blockParams.has(head) && n.original !== 'this' && !n.original?.startsWith('this.') && !n.original?.startsWith('../')) names.add(head);
      return;
    }
    const inner = new Set([...blockParams, ...(n.program?.blockParams ?? [])]);
    for (const [k, value] of Object.entries(node)) {
      // a mustache's or block's path is a helper when it has params; a bare {{name}} is a variable
      if (k === 'path' && (n.type === 'MustacheStatement' || n.type === 'BlockStatement' || n.type === 'SubExpression')) {
        const p = value as { original?: string; type?: string };
        const params = (node as { params?: unknown[] }).params ?? [];
        if (p.type === 'PathExpression' && (params.length > 0 || BUILTINS.has(p.original ?? '') || n.type !== 'MustacheStatement')) continue;
      }
      if (Array.isArray(value)) value.forEach((v) => visit(v, inner));
      else if (value && typeof value === 'object') visit(value, inner);
    }
  };
  visit(ast, new Set());
  return [...names];
}

/** Dates as ISO text and bigints as numbers, so templates print them as people expect. */
function templateContext(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = plain(v);
  return out;
}

/** A warehouse value as plain JSON: bigints as numbers (as text beyond 2^53), dates as ISO. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

function cast(v: unknown, type: FieldType, field: string): unknown {
  const fail = (): never => {
    throw new RowError(`field ${field}: cannot cast ${JSON.stringify(plain(v))} to ${type}`);
  };
  switch (type) {
    case 'string':
      return typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : String(plain(v));
    case 'number':
    case 'integer': {
      const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'boolean' ? Number(v) : NaN;
      if (!Number.isFinite(n)) return fail();
      return type === 'integer' ? Math.trunc(n) : n;
    }
    case 'boolean': {
      if (typeof v === 'boolean') return v;
      const s = String(plain(v)).trim().toLowerCase();
      if (['true', 't', 'yes', 'y', '1'].includes(s)) return true;
      if (['false', 'f', 'no', 'n', '0'].includes(s)) return false;
      return fail();
    }
    case 'datetime':
    case 'date': {
      const d = v instanceof Date ? v : new Date(typeof v === 'string' && /^\d{4}-\d{2}-\d{2} \d/.test(v) && !/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? `${v.replace(' ', 'T')}Z` : String(plain(v)));
      if (Number.isNaN(d.getTime())) return fail();
      return type === 'date' ? d.toISOString().slice(0, 10) : d.toISOString();
    }
    case 'json':
      if (typeof v !== 'string') return plain(v);
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return fail();
      }
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}
