import { z } from 'zod';

/** An sObject or field API name: `Contact`, `Email`, `Customer_Id__c`, `ns__Thing__c`. */
export const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export const salesforceSettings = z
  .object({
    instance_url: z.url({ protocol: /^https?$/ }).describe('the org’s URL, https://<my domain>.my.salesforce.com (tests point it at a fake server)'),
    api_version: z.string().regex(/^v\d{2,3}\.0$/, 'api_version looks like v62.0').default('v62.0').describe('the REST API version'),
    access_token: z.string().min(1).meta({ writeOnly: true }).optional().describe('an OAuth access token (used as given; with client_id and refresh_token it is refreshed when it expires)'),
    client_id: z.string().min(1).optional().describe('the connected app’s consumer key (refresh token flow)'),
    client_secret: z.string().min(1).meta({ writeOnly: true }).optional().describe('the connected app’s consumer secret, when it has one'),
    refresh_token: z.string().min(1).meta({ writeOnly: true }).optional().describe('an OAuth refresh token of the integration user (scopes api, refresh_token)'),
    login_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('where the refresh token is exchanged (default: instance_url; https://test.salesforce.com for a sandbox without My Domain)'),
  })
  .refine((s) => s.access_token !== undefined || (s.client_id !== undefined && s.refresh_token !== undefined), {
    message: 'set access_token, or client_id and refresh_token (with client_secret when the connected app has one)',
    path: ['access_token'],
  });
export type SalesforceSettings = z.infer<typeof salesforceSettings>;

export const DEFAULT_BULK_THRESHOLD = 2_000;

export const recordsOptions = z
  .object({
    object: z.string().regex(API_NAME, 'object is an sObject API name (Contact, Lead, Customer__c)').default('Contact').describe('the sObject written to (default Contact)'),
    external_id_field: z
      .string()
      .regex(API_NAME, 'external_id_field is a field API name (Customer_Id__c)')
      .optional()
      .describe('the External ID field records are matched by (required for upsert; lets update find records without their Id)'),
    bulk_threshold: z
      .number()
      .int()
      .min(0)
      .default(DEFAULT_BULK_THRESHOLD)
      .describe('runs sending more rows than this use Bulk API 2.0 ingest jobs; smaller ones sObject Collections (default 2,000)'),
  })
  .strict();
export type RecordsOptions = z.infer<typeof recordsOptions>;

/** `services/data/v62.0/<path>`, relative to instance_url. */
export const dataPath = (s: Pick<SalesforceSettings, 'api_version'>, path: string): string => `services/data/${s.api_version}/${path.replace(/^\/+/, '')}`;
