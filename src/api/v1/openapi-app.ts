/**
 * The /v1 entity API as one OpenAPIHono app: a body or parameter that fails its zod schema is
 * a 400 in the house error format, and `GET /v1/openapi.json` describes every route from the
 * same schemas.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { z } from '@hono/zod-openapi';
import type { AuthVariables } from '../authenticate.js';
import { HttpError } from '../http-error.js';
import { ErrorBody } from './api-schemas.js';

export type V1Env = { Variables: AuthVariables };

export function createOpenApiApp(): OpenAPIHono<V1Env> {
  const app = new OpenAPIHono<V1Env>({
    defaultHook: function invalidRequest(result) {
      if (result.success) return;
      const error = result.error as z.ZodError;
      throw new HttpError(
        400,
        'invalid_request',
        `${result.target === 'json' ? 'body' : result.target} does not match the schema`,
        error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
      );
    },
  });
  app.use(requireDeclaredBodies(app));
  return app;
}

/**
 * A route whose document says its body is required answers a request without one 400
 * `missing_body`. zod-openapi refuses a body of another media type (415) but lets a request
 * with no body and no Content-Type through as `{}`, which a PATCH or PUT would then apply.
 * Which routes need a body is read from the document itself, once.
 */
function requireDeclaredBodies(app: OpenAPIHono<V1Env>): MiddlewareHandler {
  let required: Set<string> | undefined;
  function build(): Set<string> {
    const routes = new Set<string>();
    for (const definition of app.openAPIRegistry.definitions) {
      if (definition.type !== 'route' || !definition.route.request?.body?.required) continue;
      const path = definition.route.path.replace(/\{(\w+)\}/g, ':$1');
      routes.add(`${definition.route.method.toUpperCase()} ${path}`);
    }
    return routes;
  }
  return async function missingBody(c, next) {
    if (c.req.header('content-type') === undefined) {
      required ??= build();
      const route = matchedRoutes(c).find((r) => r.method === c.req.method);
      if (route && required.has(`${route.method} ${route.path}`) && !(await hasBody(c.req.raw))) {
        throw new HttpError(400, 'missing_body', 'this request needs a body: send it as application/json');
      }
    }
    await next();
  };
}

async function hasBody(request: Request): Promise<boolean> {
  if (request.body === null) return false;
  return (await request.clone().arrayBuffer()).byteLength > 0;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'the body or a parameter is invalid (details lists each problem)',
  401: 'no API key, or an unknown or revoked one',
  403: 'the key lacks the scope, or belongs to another organizer',
  404: 'no such id',
  409: 'the id exists already, or the body names one key twice (a category listed twice)',
  503: 'Postgres or ClickHouse is unavailable: retry after Retry-After seconds',
};

/** OpenAPI `responses` entries for the error statuses a route can answer. */
export function errorResponses(...statuses: (keyof typeof DESCRIPTIONS)[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: DESCRIPTIONS[status]!, content: { 'application/json': { schema: ErrorBody } } },
    ]),
  );
}

/** Adds the document route and the bearer scheme; call after every route is registered. */
export function serveOpenApiDocument(app: OpenAPIHono<V1Env>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key: a platform key from the environment or an organizer key from POST /v1/organizers/{id}/keys',
  });
  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'ticketpulse',
      version: '1',
      description: 'Organizers, shows, keys and named queries. Events go to POST /v1/events.',
    },
    security: [{ apiKey: [] }],
  });
}
