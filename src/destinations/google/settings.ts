import { z } from 'zod';

const customerId = z
  .string()
  .regex(/^\d{3}-?\d{3}-?\d{4}$/, 'a Google Ads customer id: 10 digits, dashes allowed (123-456-7890)')
  .transform((s) => s.replace(/-/g, ''));

export const googleSettings = z
  .object({
    api: z
      .enum(['data_manager', 'google_ads'])
      .default('data_manager')
      .describe('data_manager (default): the Data Manager API; google_ads: the legacy Google Ads API OfflineUserDataJob flow (needs developer_token)'),
    access_token: z.string().min(1).meta({ writeOnly: true }).describe('OAuth 2.0 access token (scope datamanager, or adwords for google_ads), sent as Authorization: Bearer'),
    customer_id: customerId.describe('the Google Ads account that owns the audiences (operating account)'),
    login_customer_id: customerId.optional().describe('the manager account the token acts through, when it is not the customer itself'),
    developer_token: z.string().min(1).meta({ writeOnly: true }).optional().describe('Google Ads API developer token (google_ads only)'),
    data_manager_url: z.url().default('https://datamanager.googleapis.com').describe('base URL of the Data Manager API (tests)'),
    google_ads_url: z.url().default('https://googleads.googleapis.com').describe('base URL of the Google Ads API (tests)'),
    google_ads_version: z.string().regex(/^v\d+$/).default('v26').describe('Google Ads API version (google_ads only)'),
  })
  .strict()
  .refine((s) => s.api !== 'google_ads' || !!s.developer_token, { message: 'developer_token is required when api is google_ads', path: ['developer_token'] });
export type GoogleSettings = z.infer<typeof googleSettings>;

const consent = z.enum(['granted', 'denied']).optional();

export const customerMatchOptions = z
  .object({
    audience_name: z.string().trim().min(1).max(255).optional().describe('the Customer Match list to find by name, or create (default: the sync name)'),
    user_list_id: z.string().regex(/^\d+$/, 'the numeric user list id').optional().describe('an existing Customer Match list (wins over audience_name)'),
    audience_description: z.string().max(1000).optional().describe('description of a list this sync creates'),
    ad_user_data_consent: consent.describe('consent for using the data for advertising (EEA: required)'),
    ad_personalization_consent: consent.describe('consent for personalized advertising (EEA: required)'),
    accept_terms_of_service: z.boolean().default(false).describe('data_manager: state that the Customer Match terms of service were accepted for the account'),
    default_country: z
      .string()
      .regex(/^[A-Za-z]{2}$/)
      .optional()
      .describe('ISO 3166-1 alpha-2 country for phone numbers without a + (when the row has no country_code)'),
  })
  .strict();
export type CustomerMatchOptions = z.infer<typeof customerMatchOptions>;
