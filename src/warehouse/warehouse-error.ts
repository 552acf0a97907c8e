import { CdpError } from '../errors/cdp-error';

export class WarehouseError extends CdpError {
  constructor(message: string, code: 'WAREHOUSE_ERROR' | 'WAREHOUSE_BUSY' = 'WAREHOUSE_ERROR') {
    super(code, message);
  }
}

export function toWarehouseError(e: unknown): WarehouseError {
  if (e instanceof WarehouseError) return e;
  return new WarehouseError(e instanceof Error ? e.message : String(e));
}
