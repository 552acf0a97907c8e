import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ConfigError } from '../config/config.loader';
import { CdpError } from '../errors/cdp-error';

/**
 * Encryption of secrets kept in the control store (destination credentials): AES-256-GCM, a random
 * 12-byte IV per value, the auth tag checked on every read. A value is one line of text,
 * `v1:<iv>:<tag>:<ciphertext>` (base64), so the format can change later without guessing.
 *
 * The key comes from CDP_SECRET_KEY (32 bytes: 64 hex characters, or base64). Without it (the
 * embedded default of a newcomer) a random key is generated once into `<project>/.cdp/secret.key`
 * (mode 0600) and read from there afterwards; production sets CDP_SECRET_KEY, the same on every
 * replica that shares the control store.
 */

export const SECRET_KEY_ENV = 'CDP_SECRET_KEY';
/** where the generated key lives, relative to the project folder */
export const SECRET_KEY_FILE = join('.cdp', 'secret.key');

const FORMAT = 'v1';
const IV_BYTES = 12;
const KEY_BYTES = 32;

/** A stored secret that cannot be read back: a different key, or an altered value. Never carries the value. */
export class SecretsUnreadableError extends CdpError {
  constructor(message: string) {
    super('SECRETS_UNREADABLE', message);
  }
}

/**
 * A key as text: 64 hex characters or base64 (standard or URL-safe) of 32 bytes. `source` names
 * where it came from in the error (the variable, or the file); the key itself is never shown.
 */
export function parseSecretKey(text: string, source: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
    throw new ConfigError(
      `${source}: expected a 32-byte key as 64 hex characters or base64 (44 characters), got ${key.length} bytes of base64 (generate one with: openssl rand -base64 32)`,
    );
  }
  throw new ConfigError(`${source}: expected a 32-byte key as 64 hex characters or base64 (44 characters), got ${value.length} characters that are neither (generate one with: openssl rand -base64 32)`);
}

export interface SecretKeyOptions {
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  /** told once, when a key is generated into the project folder */
  onGenerated?: (message: string) => void;
}

/** Where the key came from: the environment, the project's key file, or generated just now into that file. */
export type SecretKeySource = 'env' | 'file' | 'generated';

/**
 * The key: CDP_SECRET_KEY when set (a wrong one is a ConfigError naming the variable), else the
 * project's `.cdp/secret.key`, generated the first time. Two processes opening a new project at
 * once agree on one key: the file is written aside and linked into place, which fails for the
 * second, which then reads the first one's key.
 */
export function loadSecretKey(options: SecretKeyOptions): { key: Buffer; source: SecretKeySource } {
  const env = options.env ?? process.env;
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { key: parseSecretKey(fromEnv, `environment variable ${SECRET_KEY_ENV}`), source: 'env' };

  const file = join(options.projectDir, SECRET_KEY_FILE);
  const shown = relative(options.projectDir, file);
  if (existsSync(file)) return { key: parseSecretKey(readFileSync(file, 'utf8'), `${shown} (${SECRET_KEY_ENV} is not set)`), source: 'file' };

  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(KEY_BYTES);
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(aside, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(aside, 0o600); // the umask may have taken bits off, never added them; be explicit
    linkSync(aside, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { key: parseSecretKey(readFileSync(file, 'utf8'), shown), source: 'file' };
  } finally {
    rmSync(aside, { force: true });
  }
  options.onGenerated?.(
    `${SECRET_KEY_ENV} is not set: generated a key for destination secrets into ${shown} (mode 0600) and will use it from now on. ` +
      `In production set ${SECRET_KEY_ENV} (32 bytes, base64 or hex; the same on every replica) before creating destinations.`,
  );
  return { key, source: 'generated' };
}

/** Encrypts and decrypts JSON objects with one key. */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new ConfigError(`a secret key is ${KEY_BYTES} bytes, got ${key.length}`);
  }

  static open(options: SecretKeyOptions): SecretBox {
    return new SecretBox(loadSecretKey(options).key);
  }

  /**
   * `v1:<iv>:<tag>:<ciphertext>`. `context` (the destination name) is bound as additional
   * authenticated data: a value copied to another row does not decrypt there.
   */
  encrypt(value: Record<string, unknown>, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  /**
   * The object `encrypt` was given. `what` names the owner in the error (`destination "crm"`);
   * a wrong key, an altered value or another context all fail the auth tag the same way.
   */
  decrypt(text: string, what: string, context = ''): Record<string, unknown> {
    const parts = text.split(':');
    if (parts.length !== 4 || parts[0] !== FORMAT) {
      throw new SecretsUnreadableError(`secrets of ${what} cannot be decrypted: not a ${FORMAT} value (written by a newer version?)`);
    }
    const [, iv, tag, ciphertext] = parts.map((p) => Buffer.from(p, 'base64'));
    let plain: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretsUnreadableError(
        `secrets of ${what} cannot be decrypted: ${SECRET_KEY_ENV} changed? (the key differs from the one they were saved with, or the stored value was altered; set the original key, or save the destination's secrets again)`,
      );
    }
    return JSON.parse(plain) as Record<string, unknown>;
  }
}
