import { z } from 'zod';

/** API hosts by data center (reference §1.12: the spec's host, and the EU host). */
export const ITERABLE_HOSTS = { us: 'https://api.iterable.com', eu: 'https://api.eu.iterable.com' } as const;

export const iterableSettings = z
  .object({
    api_key: z.string().min(1).meta({ writeOnly: true }).describe('a server-side API key of the project, sent as the Api-Key header'),
    region: z.enum(['us', 'eu']).default('us').describe('the data center of the project: us (api.iterable.com) or eu (api.eu.iterable.com)'),
    base_url: z.url({ protocol: /^https?$/ }).optional().describe('the API host, overriding region (tests point it at a fake server)'),
  })
  .strict();
export type IterableSettings = z.infer<typeof iterableSettings>;

export const baseUrl = (s: IterableSettings): string => (s.base_url ?? ITERABLE_HOSTS[s.region]).replace(/\/+$/, '');

const identifier = z
  .enum(['email', 'userId'])
  .default('email')
  .describe('the identifier Iterable finds users by (email for email-based and hybrid projects, userId for userID-based ones); a row without it uses the other one');

export const usersOptions = z
  .object({
    identifier,
    merge_nested_objects: z.boolean().default(false).describe('merge object-valued data fields into the profile’s objects instead of replacing them'),
    create_new_fields: z.boolean().optional().describe('add data fields the project does not know yet (default: the project’s setting)'),
  })
  .strict();
export type UsersOptions = z.infer<typeof usersOptions>;

export const listOptions = z
  .object({
    list_id: z.coerce.number().int().positive().optional().describe('the static list to write to'),
    list_name: z.string().trim().min(1).max(255).optional().describe('the static list to write to, found by name or created (default: the sync name)'),
    identifier,
  })
  .strict()
  .refine((o) => o.list_id === undefined || o.list_name === undefined, 'set list_id or list_name, not both');
export type ListOptions = z.infer<typeof listOptions>;

export const eventsOptions = z
  .object({
    identifier,
    create_new_fields: z.boolean().optional().describe('add event data fields the project does not know yet (default: the project’s setting)'),
  })
  .strict();
export type EventsOptions = z.infer<typeof eventsOptions>;
