import { z } from 'zod';
import { DESTINATION_CATEGORIES, SYNC_MODES } from './destination-definition';
import { DESTINATION_NAME, DESTINATION_NAME_HINT } from './destination-instances';
import { SECRET_MASK } from './settings-schema';

/**
 * The destination API, declared once: validation and the OpenAPI document come from here.
 *
 * Secrets: a secret field (`writeOnly` in the type's settings schema) is never answered; when it
 * is set the answer shows `"********"`. Sending `"********"` back (or leaving the field out) in a
 * PUT keeps the stored value; `null` clears it.
 */

const settingsObject = z.record(z.string(), z.unknown());

// ── types ────────────────────────────────────────────────────────────────────
const jsonSchema = z.record(z.string(), z.unknown());

export const destinationActionSchema = z.object({
  name: z.string().describe('what a sync names as its `action`'),
  title: z.string(),
  description: z.string(),
  modes: z.array(z.enum(SYNC_MODES)).describe('the sync modes the action serves'),
  batchSize: z.number().describe('rows per batch unless the sync sets options.batch_size'),
  maxBatchSize: z.number().describe('the most rows a sync may ask for with options.batch_size'),
  fields: z.record(
    z.string(),
    z.object({
      description: z.string(),
      type: z.enum(['string', 'number', 'boolean', 'datetime', 'object']).optional(),
      required: z.boolean().optional(),
      identifier: z.boolean().optional(),
    }),
  ),
  customFields: z.boolean().describe('mappings may send fields not listed'),
  options: jsonSchema.describe("JSON Schema of the sync's `options` for this action"),
});

export const destinationTypeSchema = z.object({
  slug: z.string().describe('what an instance names as its `type`'),
  name: z.string(),
  category: z.enum(DESTINATION_CATEGORIES),
  description: z.string(),
  settings: jsonSchema.describe('JSON Schema of the settings of an instance; secret fields are `writeOnly`'),
  actions: z.array(destinationActionSchema),
});
export type DestinationType = z.output<typeof destinationTypeSchema>;

// ── instances ────────────────────────────────────────────────────────────────
const description = z.string().max(1000).optional();

/** `POST /api/destinations` */
export const createDestinationSchema = z
  .object({
    name: z.string().regex(DESTINATION_NAME, DESTINATION_NAME_HINT).describe('what syncs name as their `destination`'),
    type: z.string().min(1).describe('a destination type slug (GET /api/destinations/types)'),
    description,
    settings: settingsObject.default({}).describe('the settings of the type; secret fields are stored encrypted and never answered'),
  })
  .strict();
export type CreateDestination = z.output<typeof createDestinationSchema>;

/** `PUT /api/destinations/:name`: replaces the settings (a secret field left out or sent as the mask keeps its value). */
export const updateDestinationSchema = z
  .object({
    name: z.string().optional().describe('if given, the name in the URL'),
    type: z.string().optional().describe('if given, the current type (a type cannot change)'),
    description,
    settings: settingsObject.describe(`the settings; a secret field left out or sent as "${SECRET_MASK}" keeps its stored value, null clears it`),
  })
  .strict();
export type UpdateDestination = z.output<typeof updateDestinationSchema>;

export const destinationListItemSchema = z.object({
  name: z.string(),
  type: z.string().describe('the type slug (empty when a file could not be read)'),
  origin: z.enum(['file', 'api']).describe('destinations/*.yaml, or created through this API'),
  path: z.string().nullable().describe('the file defining it, relative to the project folder (null for the API)'),
  description: z.string().nullable(),
  problems: z.array(z.string()).describe('why it cannot be used now (unknown type, settings its type rejects, unset variables); empty when it can'),
});
export type DestinationListItem = z.output<typeof destinationListItemSchema>;

export const destinationDetailSchema = destinationListItemSchema.extend({
  settings: settingsObject.describe(`the settings: files as written (\${ENV} references unresolved); secret fields that are set show "${SECRET_MASK}"`),
  secretFields: z.array(z.string()).describe('the settings that are secrets (writeOnly)'),
  createdAt: z.date().nullable(),
  updatedAt: z.date().nullable(),
});
export type DestinationDetail = z.output<typeof destinationDetailSchema>;

export const testResultSchema = z.union([
  z.object({
    ok: z.literal(true),
    durationMs: z.number(),
    message: z.string().optional().describe('set when the type has no connection test (only the settings were checked)'),
  }),
  z.object({
    ok: z.literal(false),
    durationMs: z.number(),
    kind: z.enum(['settings', 'configuration', 'retryable']).describe('settings: the instance cannot be used as written; configuration: the destination refused it (credentials, permissions); retryable: unreachable or throttled now'),
    error: z.string(),
  }),
]);
export type TestResult = z.output<typeof testResultSchema>;
