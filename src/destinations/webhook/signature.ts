import { createHmac } from 'node:crypto';

/** A Standard Webhooks secret: `whsec_` then the base64 key. */
export const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** The three Standard Webhooks headers for one message. */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs a message per Standard Webhooks: `v1,` + base64 HMAC-SHA256 over `${id}.${timestamp}.${body}`,
 * keyed with the base64-decoded part of the secret after `whsec_`. Receivers verify with the
 * `standardwebhooks` package (`new Webhook(secret).verify(body, headers)`).
 */
export function signatureHeaders(secret: string, id: string, body: string, now: Date = new Date()): SignatureHeaders {
  const timestamp = Math.floor(now.getTime() / 1000).toString();
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
