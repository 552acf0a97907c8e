import { WarehouseError } from '../warehouse-error';

/** What the driver's errors carry (OperationFailedError, RequestFailedError, NetworkError, ...). */
interface DriverError {
  name?: string;
  message?: string;
  /** Snowflake's code as a string ('001003', '390100'); the driver's own codes are numbers (401001) */
  code?: string | number;
  sqlState?: string;
  response?: { statusCode?: number; status?: number };
  cause?: { message?: string; code?: string };
}

export interface ErrorContext {
  account: string;
  user: string;
  /** where the driver connects: the account URL or access_url */
  url: string;
}

/**
 * Snowflake's failures as WarehouseErrors a user can act on. Logins answer 390100 (wrong user or
 * password) or 390144 (the key-pair JWT does not match the user's public key); a warehouse whose
 * resource monitor used its credit quota answers 090073; throttling arrives as HTTP 429 (the driver
 * retries 429 and 5xx with backoff before it gives up); SQL errors carry the engine's message, its
 * code and the SQL state. Throttling, quota and overload map to WAREHOUSE_BUSY (HTTP 503).
 */
export function snowflakeError(e: unknown, ctx: ErrorContext): WarehouseError {
  if (e instanceof WarehouseError) return e;
  if (typeof e === 'string') return new WarehouseError(`Snowflake: ${e}`);
  if (!e || typeof e !== 'object') return new WarehouseError('Snowflake: unknown error');
  const err = e as DriverError;
  const message = (err.message ?? 'unknown error').trim();
  const code = err.code === undefined ? undefined : String(err.code);
  const status = err.response?.statusCode ?? err.response?.status;

  if (code === '390100') {
    return new WarehouseError(`Snowflake rejected the login of user ${ctx.user} to account ${ctx.account}: ${message} (390100). Check warehouse.user and warehouse.password.`);
  }
  if (code === '390144') {
    return new WarehouseError(
      `Snowflake rejected the key-pair login of user ${ctx.user} to account ${ctx.account}: ${message} (390144). warehouse.private_key_path must hold the private key whose public key is set on the user (ALTER USER ${ctx.user} SET RSA_PUBLIC_KEY = '...').`,
    );
  }
  if (code && /^390\d{3}$/.test(code)) {
    return new WarehouseError(`Snowflake login failed for user ${ctx.user} to account ${ctx.account}: ${message} (${code})`);
  }
  if (code === '090073') {
    return new WarehouseError(`Snowflake: ${message} (090073). The warehouse's resource monitor has used its credit quota: raise it (ALTER RESOURCE MONITOR) or wait for its next period.`, 'WAREHOUSE_BUSY');
  }
  if (code === '000625' || code === '000630') {
    return new WarehouseError(`Snowflake is busy: ${message} (${code}). Try again later, or give the warehouse more capacity.`, 'WAREHOUSE_BUSY');
  }
  if (status === 429) {
    return new WarehouseError(
      `Snowflake is throttling requests (HTTP 429 Too Many Requests) and the driver's retries did not get through. Try again later, or lower warehouse.pool.max.`,
      'WAREHOUSE_BUSY',
    );
  }
  if (status === 502 || status === 503 || status === 504) {
    return new WarehouseError(`Snowflake is unavailable (HTTP ${status}) and the driver's retries did not get through. Try again later.`, 'WAREHOUSE_BUSY');
  }
  if (status) {
    return new WarehouseError(`Snowflake answered HTTP ${status}: ${message}`);
  }
  if (err.name === 'NetworkError' || code === '401001') {
    const cause = err.cause?.message ?? err.cause?.code ?? message;
    return new WarehouseError(`cannot reach Snowflake at ${ctx.url}: ${cause}. Check warehouse.account (and access_url).`);
  }
  if (code && /^\d{6}$/.test(code) && typeof err.code === 'string') {
    return new WarehouseError(`${message} (Snowflake ${code}${err.sqlState ? `, SQL state ${err.sqlState}` : ''})`);
  }
  return new WarehouseError(`Snowflake: ${message}`);
}
