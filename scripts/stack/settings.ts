/**
 * The local stack's own settings: read by `npm run stack` and the tools that drive it (the
 * fault suite, benches), not by the service. docs/configuration.md lists them after the
 * service's (npm run docs:config).
 */
import { z } from 'zod';
import { stackPortOffset } from '../../src/local-stack.js';

export const stackSettingsSchema = z.object({
  TICKETPULSE_STACK_DIR: z
    .string()
    .min(1)
    .default('.stack')
    .describe('Folder (git-ignored) where `npm run stack` keeps installs, data, logs and pid files.'),
  TICKETPULSE_STACK_PORT_OFFSET: stackPortOffset.describe(
    'The same offset as the service reads (above): the stack listens on its ports moved by it.',
  ),
});

export type StackSettings = z.infer<typeof stackSettingsSchema>;

/** Reads them from the environment (empty means unset); throws listing what is invalid. */
export function loadStackSettings(env: Record<string, string | undefined> = process.env): StackSettings {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = stackSettingsSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid stack settings:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
