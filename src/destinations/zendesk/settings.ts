import { z } from 'zod';

/** Zendesk Support plans' API limits, requests a minute per account: Team 200, Professional 400, Enterprise 700, High Volume add-on 2,500. */
export const ZENDESK_DEFAULT_RPM = 200;
export const ZENDESK_MAX_RPM = 2_500;

export const zendeskSettings = z
  .object({
    subdomain: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'the subdomain of <subdomain>.zendesk.com')
      .describe('the account: https://<subdomain>.zendesk.com'),
    email: z.email().optional().describe('the agent or admin whose API token this is (API token auth)'),
    api_token: z.string().trim().min(1).optional().meta({ writeOnly: true }).describe('an API token (Admin Center → Apps and integrations → Zendesk API), sent as Basic {email}/token:{api_token}'),
    oauth_token: z.string().trim().min(1).optional().meta({ writeOnly: true }).describe('an OAuth access token with users:write and read scopes, sent as a Bearer token (instead of email and api_token)'),
    requests_per_minute: z
      .number()
      .int()
      .min(10)
      .max(ZENDESK_MAX_RPM)
      .default(ZENDESK_DEFAULT_RPM)
      .describe("the account's API limit a minute (Zendesk plans: Team 200, Professional 400, Enterprise 700, High Volume add-on 2,500); default 200"),
    base_url: z.url({ protocol: /^https?$/ }).optional().describe('the API host, instead of https://<subdomain>.zendesk.com (tests point it at a fake server)'),
  })
  .strict()
  .refine((s) => (s.oauth_token !== undefined) !== (s.email !== undefined || s.api_token !== undefined), 'set either email and api_token, or oauth_token')
  .refine((s) => s.oauth_token !== undefined || (s.email !== undefined && s.api_token !== undefined), 'API token auth needs both email and api_token');
export type ZendeskSettings = z.infer<typeof zendeskSettings>;

export const usersOptions = z.object({}).strict();
export type UsersOptions = z.infer<typeof usersOptions>;
