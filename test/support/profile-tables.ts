import type { Warehouse } from '../../src/warehouse/warehouse';

/**
 * The tables identity resolution writes (issue 4), created by SQL as that step would, for the
 * profile API's suites (DuckDB). Two profiles:
 * - p_jane: user_id u1, email jane@example.com, phone +447700900123, anonymous ids a1 and a2,
 *   crm_id CRM-1; 25 events m-jane-1 .. m-jane-25, one an hour from 2024-01-01 01:00 (the newest
 *   is m-jane-25), through u1, a1 or a2, even ones with a context; m-jane-25 arrives twice.
 * - p_bob: user_id u2, email bob@example.com, anonymous id b1; a page view and an identify.
 * And an event of u3, who has no profile.
 */

/** A project whose identity config knows these identifier types (phones are read as GB numbers). */
export const PROFILES_PROJECT_YAML = `name: profiles_test
identity:
  identifiers:
    - { type: user_id, from: events.user_id }
    - { type: email, from: events.traits.email }
    - { type: phone, from: events.traits.phone, default_country: GB }
    - { type: anonymous_id, from: events.anonymous_id }
    - { type: crm_id, from: events.traits.crm_id }
`;

export const PROFILE_FIXTURE_SQL = (schema = 'cdp'): string[] => [
  `create schema if not exists ${schema}`,
  `create or replace table ${schema}.identity_graph as
   select * from (values
     ('p_jane', 'user_id', 'u1', 'events', timestamp '2024-01-01 01:00:00', timestamp '2024-01-02 01:00:00', 1),
     ('p_jane', 'email', 'jane@example.com', 'stg_customers', timestamp '2023-12-01 00:00:00', timestamp '2024-01-02 00:00:00', 1),
     ('p_jane', 'phone', '+447700900123', 'events', timestamp '2024-01-01 02:00:00', timestamp '2024-01-01 02:00:00', 1),
     ('p_jane', 'anonymous_id', 'a1', 'events', timestamp '2024-01-01 03:00:00', timestamp '2024-01-01 21:00:00', 1),
     ('p_jane', 'anonymous_id', 'a2', 'events', timestamp '2024-01-01 06:00:00', timestamp '2024-01-02 00:00:00', 1),
     ('p_jane', 'crm_id', 'CRM-1', 'crm_contacts', timestamp '2023-11-01 00:00:00', timestamp '2023-11-01 00:00:00', 1),
     ('p_bob', 'user_id', 'u2', 'events', timestamp '2024-02-01 00:00:00', timestamp '2024-02-01 00:00:00', 2),
     ('p_bob', 'email', 'bob@example.com', 'events', timestamp '2024-02-01 00:00:00', timestamp '2024-02-01 00:00:00', 2),
     ('p_bob', 'anonymous_id', 'b1', 'events', timestamp '2024-02-01 00:00:00', timestamp '2024-02-01 00:00:00', 2)
   ) t(profile_id, id_type, id_value, source, first_seen, last_seen, component)`,
  `create or replace table ${schema}.profiles as
   select profile_id, first_seen::timestamp as first_seen, last_seen::timestamp as last_seen, updated_at::timestamp as updated_at,
          name, orders::integer as orders, lifetime_value::double as lifetime_value, is_vip, last_order_at::timestamp as last_order_at, attributes::json as attributes
   from (values
     ('p_jane', '2023-11-01 00:00:00', '2024-01-02 01:00:00', '2024-03-02 00:00:00', 'Jane', 3, 120.5, true, '2024-03-01 10:00:00', '{"plan":"pro"}'),
     ('p_bob', '2024-02-01 00:00:00', '2024-02-01 00:00:00', '2024-03-02 00:00:00', 'Bob', 0, 0, false, null, null)
   ) t(profile_id, first_seen, last_seen, updated_at, name, orders, lifetime_value, is_vip, last_order_at, attributes)`,
  `insert into ${schema}.raw_events (message_id, type, event, user_id, anonymous_id, "timestamp", received_at, properties, context)
   select 'm-jane-' || i, 'track', 'Viewed ' || i,
          case when i % 3 = 0 then null else 'u1' end,
          case when i % 3 = 0 then 'a' || (i % 2 + 1) else null end,
          timestamp '2024-01-01 00:00:00' + i * interval 1 hour, timestamp '2024-01-01 00:00:00' + i * interval 1 hour,
          json_object('i', i), case when i % 2 = 0 then json_object('ip', '192.0.2.1') end
   from range(1, 26) t(i)`,
  // a resend of m-jane-25 (its answer was lost): the first copy counts
  `insert into ${schema}.raw_events (message_id, type, event, user_id, "timestamp", received_at, properties)
   values ('m-jane-25', 'track', 'Viewed 25', 'u1', timestamp '2024-01-02 01:00:01', timestamp '2024-01-02 01:05:00', '{"i":25,"copy":true}')`,
  `insert into ${schema}.raw_events (message_id, type, event, name, user_id, anonymous_id, "timestamp", received_at, properties) values
     ('m-bob-1', 'page', null, 'Home', null, 'b1', timestamp '2024-02-01 00:00:00', timestamp '2024-02-01 00:00:00', '{"path":"/"}'),
     ('m-bob-2', 'identify', null, null, 'u2', 'b1', timestamp '2024-02-01 00:01:00', timestamp '2024-02-01 00:01:00', null),
     ('m-u3-1', 'track', 'Viewed', null, 'u3', null, timestamp '2024-02-01 00:00:00', timestamp '2024-02-01 00:00:00', '{}')`,
];

export async function writeProfileFixture(warehouse: Warehouse, schema = 'cdp'): Promise<void> {
  for (const sql of PROFILE_FIXTURE_SQL(schema)) await warehouse.execute(sql);
}

/** The message ids of p_jane's events, newest first. */
export const JANE_EVENTS_NEWEST_FIRST = Array.from({ length: 25 }, (_, i) => `m-jane-${25 - i}`);
