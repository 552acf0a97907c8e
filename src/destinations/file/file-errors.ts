import { ConfigurationError, RetryableError } from '../destination-errors';

/** The folder is wrong for good: permissions, read-only disk, a file where a folder should be. */
const CONFIGURATION_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'ELOOP', 'EEXIST']);

/**
 * A file-system error as a destination error: ConfigurationError when the folder cannot work as
 * configured, RetryableError when it may pass (disk full, too many open files, I/O error, busy).
 */
export function fileError(e: unknown, what: string): ConfigurationError | RetryableError {
  const code = (e as { code?: unknown })?.code;
  const reason = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  if (typeof code === 'string' && CONFIGURATION_CODES.has(code)) return new ConfigurationError(`cannot write ${what}: ${reason}`);
  return new RetryableError(`cannot write ${what}: ${reason}`);
}
