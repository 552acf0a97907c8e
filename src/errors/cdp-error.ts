/**
 * Every error the engine raises on purpose carries a stable code. The HTTP layer maps codes to
 * status codes in one place (errors/http-exception.filter.ts); the CLI prints the message as is.
 */
export type CdpErrorCode =
  | 'CONFIG_INVALID'
  | 'PROJECT_INVALID'
  | 'MODEL_NOT_FOUND'
  | 'SELECTOR_INVALID'
  | 'DAG_CYCLE'
  | 'MODEL_SQL_ERROR'
  | 'SEED_INVALID'
  | 'WAREHOUSE_ERROR'
  | 'WAREHOUSE_BUSY'
  | 'UNAUTHORIZED'
  | 'VALIDATION_FAILED'
  | 'INGEST_BUSY'
  | 'SOURCE_NOT_FOUND'
  | 'PROFILE_NOT_FOUND'
  | 'PROFILES_UNAVAILABLE'
  | 'SEGMENT_NOT_FOUND'
  | 'SYNC_NOT_FOUND'
  | 'SYNC_BUSY'
  | 'CONFLICT'
  | 'DESTINATION_NOT_FOUND'
  | 'DESTINATION_INVALID'
  | 'SECRETS_UNREADABLE'
  | 'SERVICE_STOPPING';

export class CdpError extends Error {
  constructor(
    readonly code: CdpErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
