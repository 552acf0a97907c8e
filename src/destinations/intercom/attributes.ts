import type { ActionContext, HttpClient, HttpRequest } from '../destination-definition';
import { ConfigurationError } from '../destination-errors';
import { configurationAnswer, intercomMessage } from './errors';
import { inferType, type AttributeType } from './payload';
import type { ContactsOptions, IntercomSettings } from './settings';

/** A custom contact attribute as the run knows it: its type, and whether the API may write it. */
export interface KnownAttribute {
  type: AttributeType;
  writable: boolean;
}
/** Custom contact attributes by name (the `custom_attributes` keys), kept in the run's state. */
export type AttributeCatalog = Record<string, KnownAttribute>;

interface DataAttribute {
  name?: unknown;
  data_type?: unknown;
  custom?: unknown;
  archived?: unknown;
  api_writable?: unknown;
}

/** `GET /data_attributes?model=contact`: every contact attribute of the workspace (standard and custom). */
export const listAttributesRequest: HttpRequest = { method: 'GET', url: 'data_attributes', params: { model: 'contact' } };

/** `POST /data_attributes`: a new custom contact attribute. */
export const createAttributeRequest = (name: string, type: AttributeType): HttpRequest => ({
  method: 'POST',
  url: 'data_attributes',
  body: { name, model: 'contact', data_type: type },
});

/** The workspace's custom contact attributes (archived ones left out: Intercom refuses writes to them). */
export async function readAttributes(http: HttpClient): Promise<AttributeCatalog> {
  const res = await http.request<{ data?: DataAttribute[] }>(listAttributesRequest);
  if (res.status !== 200 || !Array.isArray(res.data?.data)) throw configurationAnswer('listing the contact data attributes', res);
  const catalog: AttributeCatalog = {};
  for (const a of res.data.data) {
    if (a.custom !== true || a.archived === true || typeof a.name !== 'string') continue;
    catalog[a.name] = { type: (typeof a.data_type === 'string' ? a.data_type : 'string') as AttributeType, writable: a.api_writable !== false };
  }
  return catalog;
}

type Ctx = ActionContext<IntercomSettings, ContactsOptions>;

/** Creations in flight per run (several batches of one run may meet the same new attribute at once). */
const creating = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * The catalog of this run (read once: by `ensure`, or by the first batch), with every attribute the
 * rows use present: a missing one is created when the sync's `create_attributes` option says so,
 * its type from the first value; otherwise the run stops (a mapping that names an attribute Intercom
 * does not have is a configuration problem, and Intercom would refuse every row).
 */
export async function attributesFor(ctx: Ctx, used: Map<string, unknown>): Promise<AttributeCatalog> {
  const state = ctx.state as { custom_attributes?: AttributeCatalog };
  state.custom_attributes ??= await readAttributes(ctx.http);
  const catalog = state.custom_attributes;
  const missing = [...used.keys()].filter((name) => !catalog[name]);
  if (missing.length > 0 && !ctx.options.create_attributes) {
    throw new ConfigurationError(
      `Intercom has no custom contact attribute ${missing.map((n) => `"${n}"`).join(', ')}: create ${missing.length > 1 ? 'them' : 'it'} in Intercom (Settings → Data → People), or set the sync option create_attributes: true`,
    );
  }
  const pending = creating.get(ctx.state) ?? new Map<string, Promise<void>>();
  creating.set(ctx.state, pending);
  await Promise.all(
    missing.map((name) => {
      let p = pending.get(name);
      if (!p) {
        p = createAttribute(ctx, catalog, name, inferType(used.get(name)));
        pending.set(name, p);
      }
      return p;
    }),
  );
  const readOnly = [...used.keys()].filter((name) => catalog[name] && !catalog[name].writable);
  if (readOnly.length > 0) throw new ConfigurationError(`the Intercom custom attribute ${readOnly.map((n) => `"${n}"`).join(', ')} cannot be written through the API`);
  return catalog;
}

async function createAttribute(ctx: Ctx, catalog: AttributeCatalog, name: string, type: AttributeType): Promise<void> {
  const res = await ctx.http.request<DataAttribute>(createAttributeRequest(name, type));
  if (res.status === 200 && typeof res.data?.name === 'string') {
    catalog[name] = { type: (typeof res.data.data_type === 'string' ? res.data.data_type : type) as AttributeType, writable: true };
    ctx.logger.info({ destination: 'intercom', attribute: name, type }, 'created the Intercom custom contact attribute');
    return;
  }
  // created meanwhile by another run or person: read the catalog again
  if (res.status === 400 && /already (have|exists)/i.test(intercomMessage(res))) {
    Object.assign(catalog, await readAttributes(ctx.http));
    if (catalog[name]) return;
  }
  throw configurationAnswer(`creating the custom contact attribute "${name}"`, res);
}
