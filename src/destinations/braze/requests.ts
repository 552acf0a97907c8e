import type { HttpRequest } from '../destination-definition';
import type { BrazeAttributes, DeleteKey } from './attributes';

/** `/users/track`: at most 75 attributes objects per request (Braze's Track users reference and API limits). */
export const BRAZE_MAX_OBJECTS = 75;
/** `/users/delete`: at most 50 identifiers per request, of one kind (Braze's Delete users reference). */
export const BRAZE_MAX_DELETE = 50;
/**
 * Which user an email delete removes when several share the email: the one `/users/track` updates
 * for that email (Braze's FAQ: the most recently updated user with an external id, else the most
 * recently updated user).
 */
export const EMAIL_DELETE_PRIORITIZATION = ['identified', 'most_recently_updated'] as const;

/** `POST /users/track` with attributes objects only. */
export const trackRequest = (attributes: BrazeAttributes[]): HttpRequest => ({ method: 'POST', url: 'users/track', body: { attributes } });

/** `POST /users/delete` for one kind of identifier (Braze takes one kind per request). */
export function deleteRequest(kind: DeleteKey['kind'], values: DeleteKey['value'][]): HttpRequest {
  const list = kind === 'email_addresses' ? values.map((email) => ({ email, prioritization: [...EMAIL_DELETE_PRIORITIZATION] })) : values;
  return { method: 'POST', url: 'users/delete', body: { [kind]: list } };
}

/** What `testConnection` sends: an update-only object for an external id nobody has, so nothing is created or changed. */
export const connectionTestRequest = (): HttpRequest => trackRequest([{ external_id: 'composable-cdp-connection-test', _update_existing_only: true }]);

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
