export { asText, hashed, isSha256Hex, normalizeEmail, normalizePhoneE164, sha256Hex, type EmailRules } from './pii';
