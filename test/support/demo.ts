/** Facts about the demo project (cdp.yaml, models/, seeds/ at the repo root) that several suites check. */

/** The demo's 9 models in DAG order (parents first, ties by name); stg_events reads the cdp.raw_events source. */
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
];

/** Every node of the demo in DAG order: the online_retail seed, then the models. */
export const DEMO_ORDER: readonly string[] = ['online_retail', ...DEMO_MODELS];

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
