/**
 * The engine's own columns in sync snapshots and plans (sync-planner.ts re-exports them; event-source.ts
 * reads them from here, as the planner imports it).
 */
export const KEY = '_cdp_key';
export const HASH = '_cdp_hash';
export const OP = '_cdp_op';
export const SEQ = '_cdp_seq';
export const SYNCED_AT = '_cdp_synced_at';
