/**
 * `npm start`: the ticketpulse service process (src/service.ts), stopped cleanly on
 * SIGINT/SIGTERM.
 */
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createService, NotReadyError } from './service.js';

const config = loadConfig();
const logger = createLogger(config);
const service = createService(config, logger);

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, 'shutting down');
  await service.close();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

try {
  await service.start();
} catch (err) {
  if (err instanceof NotReadyError) logger.fatal(`ticketpulse could not start: ${err.message}`);
  else logger.fatal({ err }, 'ticketpulse could not start');
  await service.close().catch(() => undefined);
  process.exit(1);
}
