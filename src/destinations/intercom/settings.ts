import { z } from 'zod';

/** The API version every request is written for (`Intercom-Version` header; the spec in test/specs/intercom). */
export const INTERCOM_VERSION = '2.14';

/** Intercom hosts a workspace in one region; its API host follows (reference §1.13). */
export const INTERCOM_HOSTS = {
  us: 'https://api.intercom.io',
  eu: 'https://api.eu.intercom.io',
  au: 'https://api.au.intercom.io',
} as const;

export const intercomSettings = z
  .object({
    access_token: z.string().trim().min(1).meta({ writeOnly: true }).describe('the access token of an Intercom app (private app or OAuth), sent as a Bearer token'),
    region: z.enum(['us', 'eu', 'au']).default('us').describe('where the workspace is hosted: us (api.intercom.io), eu (api.eu.intercom.io) or au (api.au.intercom.io)'),
    base_url: z.url({ protocol: /^https?$/ }).optional().describe('the API host, overriding region (tests point it at a fake server)'),
  })
  .strict();
export type IntercomSettings = z.infer<typeof intercomSettings>;

export const contactsOptions = z
  .object({
    role: z.enum(['user', 'lead']).default('user').describe('the role of contacts this sync creates, and of the contacts an email-only row matches'),
    create_attributes: z
      .boolean()
      .default(false)
      .describe('create a missing custom contact attribute (its type read from the first value) instead of stopping the run'),
  })
  .strict();
export type ContactsOptions = z.infer<typeof contactsOptions>;

export const tagsOptions = z
  .object({
    tag_id: z.string().trim().min(1).optional().describe('the tag to apply and remove'),
    tag_name: z.string().trim().min(1).max(255).optional().describe('the tag to apply and remove, found by name (case-insensitive) or created (default: the sync name)'),
    create_missing: z.boolean().default(false).describe('create a contact (with role) for a row that enters the audience and matches nobody, instead of failing the row'),
    role: z.enum(['user', 'lead']).default('user').describe('the role of contacts created by create_missing, and of the contacts an email-only row matches'),
  })
  .strict()
  .refine((o) => o.tag_id === undefined || o.tag_name === undefined, 'set tag_id or tag_name, not both');
export type TagsOptions = z.infer<typeof tagsOptions>;
