/** The /v1 entity API: organizers, keys, shows, named queries and live tokens, with the OpenAPI document (which also describes POST /v1/events). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { documentIngestRoute } from './ingest-document.js';
import { addLiveTokenRoutes, type LiveTokenRouteDeps } from './live-token-routes.js';
import { addOrganizerRoutes } from './organizer-routes.js';
import { createOpenApiApp, serveOpenApiDocument, type V1Env } from './openapi-app.js';
import { addQueryRoutes, type QueryRouteDeps } from './query-routes.js';
import { addShowRoutes } from './show-routes.js';

export interface EntityApiOptions extends QueryRouteDeps, LiveTokenRouteDeps {
  /** INGEST_MAX_RECORDS, stated in the document of POST /v1/events. */
  maxIngestRecords: number;
}

export function createEntityApi(options: EntityApiOptions): OpenAPIHono<V1Env> {
  const app = createOpenApiApp();
  addOrganizerRoutes(app, options);
  addShowRoutes(app, options);
  addQueryRoutes(app, options);
  addLiveTokenRoutes(app, options);
  documentIngestRoute(app, { maxRecords: options.maxIngestRecords });
  serveOpenApiDocument(app);
  return app;
}
