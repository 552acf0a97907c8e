import { z } from 'zod';

export const tiktokSettings = z
  .object({
    access_token: z.string().min(1).meta({ writeOnly: true }).describe('long-lived TikTok API for Business access token, sent as the Access-Token header'),
    advertiser_id: z.string().regex(/^\d+$/, 'the numeric advertiser id').describe('the advertiser account that owns the audiences'),
    base_url: z.url().default('https://business-api.tiktok.com/open_api/v1.3').describe('base URL of the API (tests)'),
  })
  .strict();
export type TikTokSettings = z.infer<typeof tiktokSettings>;

export const audienceOptions = z
  .object({
    audience_name: z.string().trim().min(1).max(128).optional().describe('the customer file audience to find by name, or create with the first rows (default: the sync name)'),
    audience_id: z.string().regex(/^\d+$/).optional().describe('an existing customer file audience (MULTIPLE_TYPES); wins over audience_name'),
    default_country: z.string().regex(/^[A-Za-z]{2}$/).optional().describe('ISO 3166-1 alpha-2 country for phone numbers without a +'),
  })
  .strict();
export type AudienceOptions = z.infer<typeof audienceOptions>;
