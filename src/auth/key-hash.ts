/** API keys: generated from 32 random bytes, stored only as their SHA-256. */
import { createHash, randomBytes } from 'node:crypto';

/** Prefix that makes a ticketpulse key recognisable in logs and secret scanners. */
const PREFIX = 'tp_';

export function generateApiKey(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
