/**
 * Encryption of the control store's secrets (AES-256-GCM) and where its key comes from:
 * CDP_SECRET_KEY (hex or base64) or a key generated once into the project's .cdp/secret.key.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.loader';
import { loadSecretKey, parseSecretKey, SecretBox, SecretsUnreadableError, SECRET_KEY_FILE } from '../../src/store/secrets';
import { TempProject } from '../support/temp-project';

const temps: TempProject[] = [];
afterEach(() => temps.splice(0).forEach((t) => t.cleanup()));
const tempDir = () => {
  const t = new TempProject();
  temps.push(t);
  return t.dir;
};

const SECRET = 'sk_live_1234567890abcdef';

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips a JSON object', () => {
    const value = { api_key: SECRET, nested: { token: 'x' }, n: 3, list: ['a'] };
    const text = box.encrypt(value, 'crm');
    expect(text).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(text).not.toContain(SECRET);
    expect(box.decrypt(text, 'destination "crm"', 'crm')).toEqual(value);
    expect(box.decrypt(box.encrypt({}), 'x')).toEqual({});
  });

  it('uses a fresh 12-byte IV for every value', () => {
    const a = box.encrypt({ api_key: SECRET });
    const b = box.encrypt({ api_key: SECRET });
    expect(a).not.toEqual(b);
    expect(Buffer.from(a.split(':')[1], 'base64')).toHaveLength(12);
    expect(Buffer.from(a.split(':')[2], 'base64')).toHaveLength(16);
  });

  it.each([
    ['the ciphertext altered', (t: string) => { const p = t.split(':'); const c = Buffer.from(p[3], 'base64'); c[0] ^= 1; p[3] = c.toString('base64'); return p.join(':'); }],
    ['the tag altered', (t: string) => { const p = t.split(':'); const c = Buffer.from(p[2], 'base64'); c[5] ^= 1; p[2] = c.toString('base64'); return p.join(':'); }],
    ['the IV altered', (t: string) => { const p = t.split(':'); const c = Buffer.from(p[1], 'base64'); c[0] ^= 1; p[1] = c.toString('base64'); return p.join(':'); }],
    ['the IV cut short', (t: string) => { const p = t.split(':'); p[1] = ''; return p.join(':'); }],
  ])('detects %s', (_what, tamper) => {
    const text = box.encrypt({ api_key: SECRET }, 'crm');
    const e = errorOf(() => box.decrypt(tamper(text), 'destination "crm"', 'crm'));
    expect(e).toBeInstanceOf(SecretsUnreadableError);
    expect(e.message).toMatch(/^secrets of destination "crm" cannot be decrypted: CDP_SECRET_KEY changed\?/);
    expect(e.message).not.toContain(SECRET);
  });

  it('a value moved to another destination (another context) does not decrypt', () => {
    const text = box.encrypt({ api_key: SECRET }, 'crm');
    expect(errorOf(() => box.decrypt(text, 'destination "ads"', 'ads'))).toBeInstanceOf(SecretsUnreadableError);
  });

  it('a wrong key: a clear error without the value', () => {
    const text = box.encrypt({ api_key: SECRET }, 'crm');
    const e = errorOf(() => new SecretBox(randomBytes(32)).decrypt(text, 'destination "crm"', 'crm'));
    expect(e).toBeInstanceOf(SecretsUnreadableError);
    expect((e as SecretsUnreadableError).code).toBe('SECRETS_UNREADABLE');
    expect(e.message).toContain('secrets of destination "crm" cannot be decrypted: CDP_SECRET_KEY changed?');
    expect(e.message).not.toContain(SECRET);
  });

  it('an unknown format says so', () => {
    expect(errorOf(() => box.decrypt('v9:a:b:c', 'destination "crm"')).message).toMatch(/not a v1 value/);
    expect(errorOf(() => box.decrypt('plain text', 'destination "crm"')).message).toMatch(/not a v1 value/);
  });
});

describe('the key', () => {
  const key = randomBytes(32);

  it.each([
    ['hex', key.toString('hex')],
    ['HEX', key.toString('hex').toUpperCase()],
    ['base64', key.toString('base64')],
    ['base64url', key.toString('base64url')],
    ['base64 with spaces around', `  ${key.toString('base64')}\n`],
  ])('from CDP_SECRET_KEY as %s', (_format, text) => {
    const dir = tempDir();
    const loaded = loadSecretKey({ projectDir: dir, env: { CDP_SECRET_KEY: text } });
    expect(loaded.source).toBe('env');
    expect(loaded.key.equals(key)).toBe(true);
    // a value encrypted with the raw key decrypts with the env one
    expect(SecretBox.open({ projectDir: dir, env: { CDP_SECRET_KEY: text } }).decrypt(new SecretBox(key).encrypt({ a: 1 }), 'x')).toEqual({ a: 1 });
    expect(existsSync(join(dir, SECRET_KEY_FILE))).toBe(false);
  });

  it.each([
    ['16 bytes of base64', randomBytes(16).toString('base64'), /got 16 bytes/],
    ['63 hex characters', key.toString('hex').slice(1), /got 63 characters|got \d+ bytes/],
    ['not a key', 'my secret password!', /got 19 characters/],
  ])('a wrong CDP_SECRET_KEY (%s) is a ConfigError naming the variable, not the key', (_what, text, detail) => {
    const e = errorOf(() => loadSecretKey({ projectDir: tempDir(), env: { CDP_SECRET_KEY: text } }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^environment variable CDP_SECRET_KEY: expected a 32-byte key as 64 hex characters or base64/);
    expect(e.message).toMatch(detail);
    expect(e.message).not.toContain(text);
  });

  it('without CDP_SECRET_KEY: generated once into .cdp/secret.key (0600), told once, reused by every later open', () => {
    const dir = tempDir();
    const told: string[] = [];
    const first = loadSecretKey({ projectDir: dir, env: {}, onGenerated: (m) => told.push(m) });
    expect(first.source).toBe('generated');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/CDP_SECRET_KEY is not set: generated a key .* into \.cdp\/secret\.key .*In production set CDP_SECRET_KEY/);
    const file = join(dir, SECRET_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseSecretKey(readFileSync(file, 'utf8'), 'file').equals(first.key)).toBe(true);

    const encrypted = SecretBox.open({ projectDir: dir, env: {}, onGenerated: (m) => told.push(m) }).encrypt({ api_key: SECRET }, 'crm');
    const again = loadSecretKey({ projectDir: dir, env: { CDP_SECRET_KEY: '' }, onGenerated: (m) => told.push(m) });
    expect(again.source).toBe('file');
    expect(again.key.equals(first.key)).toBe(true);
    expect(told).toHaveLength(1);
    expect(new SecretBox(again.key).decrypt(encrypted, 'destination "crm"', 'crm')).toEqual({ api_key: SECRET });
    // no leftovers beside the key
    expect(readdirSync(join(dir, '.cdp'))).toEqual(['secret.key']);
  });

  it('CDP_SECRET_KEY wins over the key file; secrets saved with the file key then do not decrypt', () => {
    const dir = tempDir();
    const encrypted = SecretBox.open({ projectDir: dir, env: {} }).encrypt({ api_key: SECRET }, 'crm');
    const withEnv = SecretBox.open({ projectDir: dir, env: { CDP_SECRET_KEY: key.toString('base64') } });
    expect(errorOf(() => withEnv.decrypt(encrypted, 'destination "crm"', 'crm')).message).toMatch(/CDP_SECRET_KEY changed\?/);
  });

  it('a damaged key file is an error naming the file', () => {
    const t = new TempProject({ [SECRET_KEY_FILE]: 'short\n' });
    temps.push(t);
    const e = errorOf(() => loadSecretKey({ projectDir: t.dir, env: {} }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^\.cdp\/secret\.key \(CDP_SECRET_KEY is not set\): expected a 32-byte key/);
  });
});
