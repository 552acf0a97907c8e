import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ControlStore } from '../store/control-store';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export const newToken = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/** Creates an admin token, stores its hash and returns the token (the only time it exists in clear). */
export async function createAdminToken(store: ControlStore, name: string): Promise<string> {
  const token = newToken('cdp_admin');
  await store('api_tokens').insert({ id: randomUUID(), name, token_hash: hashToken(token), scopes: 'admin', created_at: new Date() });
  return token;
}

export async function hasAdminToken(store: ControlStore): Promise<boolean> {
  const row = await store('api_tokens').whereNull('revoked_at').where('scopes', 'like', '%admin%').first('id');
  return !!row;
}

/** Checks a presented token against the stored hashes; records when it was last used. */
export async function findAdminToken(store: ControlStore, token: string): Promise<{ id: string; name: string } | undefined> {
  const row: { id: string; name: string; scopes: string } | undefined = await store('api_tokens')
    .where({ token_hash: hashToken(token) })
    .whereNull('revoked_at')
    .first('id', 'name', 'scopes');
  if (!row || !row.scopes.split(',').includes('admin')) return undefined;
  await store('api_tokens').where({ id: row.id }).update({ last_used_at: new Date() });
  return { id: row.id, name: row.name };
}

export function sameToken(a: string, b: string): boolean {
  const ha = Buffer.from(hashToken(a), 'hex');
  const hb = Buffer.from(hashToken(b), 'hex');
  return timingSafeEqual(ha, hb);
}
