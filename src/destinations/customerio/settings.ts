import { z } from 'zod';

/** Track API hosts by region (reference §1.11); the App API hosts (segments by name) likewise. */
export const CUSTOMERIO_TRACK_HOSTS = { us: 'https://track.customer.io', eu: 'https://track-eu.customer.io' } as const;
export const CUSTOMERIO_APP_HOSTS = { us: 'https://api.customer.io', eu: 'https://api-eu.customer.io' } as const;

export const customerioSettings = z
  .object({
    site_id: z.string().trim().min(1).describe('the workspace Site ID (Track API credentials, the Basic auth user name)'),
    api_key: z.string().min(1).meta({ writeOnly: true }).describe('the Track API key (the Basic auth password)'),
    region: z.enum(['us', 'eu']).default('us').describe('the data center of the workspace: us (track.customer.io) or eu (track-eu.customer.io)'),
    app_api_key: z
      .string()
      .min(1)
      .meta({ writeOnly: true })
      .optional()
      .describe('an App API key (Bearer): only needed to find or create manual segments by name; with segment_id set it is not used'),
    base_url: z.url({ protocol: /^https?$/ }).optional().describe('the Track API host, overriding region (tests point it at a fake server)'),
    app_base_url: z.url({ protocol: /^https?$/ }).optional().describe('the App API host, overriding region (tests)'),
  })
  .strict();
export type CustomerioSettings = z.infer<typeof customerioSettings>;

export const trackUrl = (s: CustomerioSettings): string => (s.base_url ?? CUSTOMERIO_TRACK_HOSTS[s.region]).replace(/\/+$/, '');
export const appUrl = (s: CustomerioSettings): string => (s.app_base_url ?? CUSTOMERIO_APP_HOSTS[s.region]).replace(/\/+$/, '');

export const peopleOptions = z
  .object({
    identify_by: z
      .enum(['cio_id', 'id', 'email'])
      .optional()
      .describe('the identifier Customer.io finds people by (default: the first of cio_id, id, email the row has); the others are sent as attributes'),
  })
  .strict();
export type PeopleOptions = z.infer<typeof peopleOptions>;

export const segmentOptions = z
  .object({
    segment_id: z.coerce.number().int().positive().optional().describe('the manual segment to write to'),
    segment_name: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .optional()
      .describe('the manual segment to write to, found by name or created (default: the sync name); needs app_api_key in the settings'),
    id_type: z
      .enum(['id', 'email', 'cio_id'])
      .default('id')
      .describe('how people are named in add_customers/remove_customers; Customer.io only removes people that have an id, so keep the default where you can'),
    identify: z.boolean().default(true).describe('identify each entering person first (v2 batch): creates new people and updates their attributes'),
    identify_by: peopleOptions.shape.identify_by,
  })
  .strict()
  .refine((o) => o.segment_id === undefined || o.segment_name === undefined, 'set segment_id or segment_name, not both');
export type SegmentOptions = z.infer<typeof segmentOptions>;
