import Handlebars from 'handlebars';
import type { OutgoingRow, Operation } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';

/** Handlebars without HTML escaping: Slack text is not HTML. Values are escaped for Slack instead (slackEscape). */
const hb = Handlebars.create();

export const DEFAULT_BATCH_TEMPLATE = '{{sync}}: {{summary}}\n{{#each rows}}• {{op}} {{key}}\n{{/each}}{{#if more}}…and {{more}} more{{/if}}';
export const DEFAULT_ROW_TEMPLATE = '{{sync}}: {{op}} {{key}}';
/** Slack takes about 40,000 characters of text. */
export const MAX_TEXT = 39_000;

const COUNT_NAMES: Record<Operation, string> = { add: 'added', remove: 'removed', upsert: 'upserted', insert: 'inserted', update: 'updated', delete: 'deleted' };
const SUMMARY_WORDS: Record<Operation, string> = { add: 'entered', remove: 'left', upsert: 'upserted', insert: 'inserted', update: 'updated', delete: 'deleted' };

/** True when the text parses as a Handlebars template (checked when a sync is loaded). */
export function isTemplate(text: string): boolean {
  try {
    hb.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * What a batch template sees: `sync`, `mode`, `total`, per-operation counts (`added`, `removed`,
 * `upserted`, `inserted`, `updated`, `deleted`), `summary` ("2 entered, 1 left"), `rows` (the first
 * `maxRows`, each `{op, key, fields}`) and `more` (rows not listed).
 */
export function batchVariables(rows: OutgoingRow[], sync: { name: string; mode: string }, maxRows: number): Record<string, unknown> {
  const counts = new Map<Operation, number>();
  for (const row of rows) counts.set(row.op, (counts.get(row.op) ?? 0) + 1);
  const vars: Record<string, unknown> = { sync: sync.name, mode: sync.mode, total: rows.length };
  for (const [op, name] of Object.entries(COUNT_NAMES)) vars[name] = counts.get(op as Operation) ?? 0;
  vars.summary = [...counts].map(([op, n]) => `${n} ${SUMMARY_WORDS[op]}`).join(', ');
  vars.rows = rows.slice(0, maxRows).map(({ op, key, fields }) => ({ op, key, fields }));
  vars.more = Math.max(0, rows.length - maxRows);
  return slackEscape(vars) as Record<string, unknown>;
}

/** What a row template sees: `sync`, `mode`, `op`, `key`, `fields`. */
export function rowVariables(row: OutgoingRow, sync: { name: string; mode: string }): Record<string, unknown> {
  return slackEscape({ sync: sync.name, mode: sync.mode, op: row.op, key: row.key, fields: row.fields }) as Record<string, unknown>;
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/**
 * Renders a template (compiled once) to message text: trimmed, cut to Slack's limit. A template
 * that fails to render (an unknown helper) is a ConfigurationError.
 */
export function renderText(template: string, variables: Record<string, unknown>): string {
  let render = compiled.get(template);
  if (!render) {
    render = hb.compile(template, { noEscape: true });
    compiled.set(template, render);
  }
  let text: string;
  try {
    text = render(variables).trim();
  } catch (e) {
    throw new ConfigurationError(`the Slack template failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/** Slack's escaping for text: `&`, `<`, `>` in every string value (so data cannot inject mentions or links). */
export function slackEscape(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (Array.isArray(value)) return value.map(slackEscape);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, slackEscape(v)]));
  }
  return value;
}
