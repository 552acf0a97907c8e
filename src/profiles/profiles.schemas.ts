import { z } from 'zod';

/** The profile API, declared once: validation, the OpenAPI document and the CLI's types come from here. */

/** Events a profile answer carries unless `?events=` says otherwise, and the most it may ask for. */
export const DEFAULT_EVENTS = 20;
export const MAX_EVENTS = 200;

export const profileQuerySchema = z
  .object({
    events: z.coerce
      .number()
      .int()
      .min(0)
      .max(MAX_EVENTS)
      .default(DEFAULT_EVENTS)
      .describe(`how many of the latest events to include, newest first (0 to ${MAX_EVENTS}; default ${DEFAULT_EVENTS})`),
  })
  .strict();

export type ProfileQuery = z.output<typeof profileQuerySchema>;

/** Timestamps travel as ISO-8601 strings (UTC). */
const instant = z.iso.datetime();

export const profileIdentitySchema = z.object({
  type: z.string().describe('the identifier type: user_id, email, phone, anonymous_id or a custom one'),
  value: z.string().describe('normalized: emails lowercased, phones E.164'),
  source: z.string().nullable().describe('where it was first seen: events, or a model name'),
  firstSeen: instant.nullable(),
  lastSeen: instant.nullable(),
});

export const profileSegmentSchema = z.object({
  segment: z.string(),
  enteredAt: instant.nullable(),
});

export const profileEventSchema = z.object({
  messageId: z.string(),
  type: z.string().describe('track, identify, page, screen, group or alias'),
  event: z.string().nullable().describe('the track event name'),
  name: z.string().nullable().describe('the page or screen name'),
  timestamp: instant,
  properties: z.record(z.string(), z.unknown()).nullable(),
  context: z.record(z.string(), z.unknown()).optional().describe('present when the event had one'),
});

export const profileSchema = z.object({
  profileId: z.string(),
  firstSeen: instant.nullable(),
  lastSeen: instant.nullable(),
  updatedAt: instant.nullable(),
  traits: z.record(z.string(), z.unknown()).describe('merged and computed traits: one key per column of the profiles table'),
  identities: z.array(profileIdentitySchema),
  segments: z.array(profileSegmentSchema).describe('the segments the profile is a member of now'),
  events: z.array(profileEventSchema).describe('the latest events of any of its user ids or anonymous ids, newest first, each message once'),
});

export type Profile = z.output<typeof profileSchema>;
