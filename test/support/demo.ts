/** Facts about the demo project (cdp.yaml, models/, seeds/ at the repo root) that several suites check. */

/**
 * The demo's 13 models in DAG order (parents first, ties by name); stg_events reads the cdp.raw_events
 * source, and the profile models read cdp.profiles, so they run after the identity step; at_churn_risk
 * (a SQL segment) reads the profile models.
 */
export const DEMO_MODELS: readonly string[] = [
  'stg_events',
  'stg_identifies',
  'stg_order_lines',
  'stg_orders',
  'daily_revenue',
  'stg_customers',
  'customer_summary',
  'stg_pages',
  'stg_tracks',
  'stg_web_events',
  'profile_churn_risk',
  'profile_rfm',
  'at_churn_risk',
];

/** The demo's condition-tree segments (segments/*.yaml), in DAG order; they run after the identity step. */
export const DEMO_SEGMENTS: readonly string[] = ['cart_abandoners', 'high_value_customers', 'new_customers'];

/** The demo's 2 seeds, in DAG order. */
export const DEMO_SEEDS: readonly string[] = ['online_retail', 'web_events'];

/** The name of the identity resolution step in the DAG (cdp.yaml's `identity:`). */
export const DEMO_IDENTITY = 'identity';

/**
 * Every node of the demo in DAG order: the seeds, the models, and the identity step, which runs after
 * the models it reads (stg_customers, stg_orders, stg_web_events) and before the models that read
 * cdp.profiles (profile_churn_risk, profile_rfm) and the segments (at_churn_risk, a SQL segment, reads
 * the profile models).
 */
export const DEMO_ORDER: readonly string[] = [
  'online_retail',
  'stg_events',
  'stg_identifies',
  'stg_order_lines',
  'stg_orders',
  'daily_revenue',
  'stg_customers',
  'customer_summary',
  'stg_pages',
  'stg_tracks',
  'web_events',
  'stg_web_events',
  DEMO_IDENTITY,
  ...DEMO_SEGMENTS,
  'profile_churn_risk',
  'profile_rfm',
  'at_churn_risk',
];

/** The number of data tests of the demo: 22 on the retail models and seed, 12 on the event staging models, 8 on stg_web_events, 17 on the profile models, 2 on the SQL segment. */
export const DEMO_TEST_COUNT = 61;

/** The 12 data tests on the event staging models (stg_events, stg_identifies, stg_pages, stg_tracks), in order. */
export const DEMO_EVENT_TESTS: readonly string[] = [
  'unique_stg_events_message_id',
  'not_null_stg_events_message_id',
  'not_null_stg_events_type',
  'accepted_values_stg_events_type',
  'not_null_stg_events_occurred_at',
  'unique_stg_identifies_message_id',
  'not_null_stg_identifies_message_id',
  'unique_stg_pages_message_id',
  'not_null_stg_pages_message_id',
  'unique_stg_tracks_message_id',
  'not_null_stg_tracks_message_id',
  'not_null_stg_tracks_event',
];
