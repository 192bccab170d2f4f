/**
 * `GET /v1/queries/{name}`: every analyst query in queries/ as JSON rows, one route per query
 * with its parameters typed from the query's header (and documented in the OpenAPI document).
 * A key of an organizer sees its own shows only: a `show_id` parameter must name one of them
 * (src/auth/show-access.ts: 404 for an unknown show, 403 for another organizer's), a query with `scope: <column>` is filtered to them, and a `scope: platform`
 * query needs a platform key.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ClickHouseClient } from '@clickhouse/client';
import type { KeyStore } from '../../auth/key-store.js';
import type { Principal } from '../../auth/principal.js';
import { accessToShow } from '../../auth/show-access.js';
import type { ShowOwners } from '../../auth/show-owners.js';
import { isClickHouseUnavailable } from '../../clients/clickhouse-errors.js';
import type { Db } from '../../db/schema.js';
import { LiteralError } from '../../sql/literals.js';
import { renderNamedQuery, type NamedQuery, type ParamType } from '../../sql/named-queries.js';
import { authenticate } from '../authenticate.js';
import { HttpError, showRefusalError } from '../http-error.js';
import { Instant } from './api-schemas.js';
import { errorResponses, type V1Env } from './openapi-app.js';

export interface QueryRouteDeps {
  db: Db;
  keys: KeyStore;
  showOwners: ShowOwners;
  clickhouse: ClickHouseClient;
  database: string;
  queries: ReadonlyMap<string, NamedQuery>;
  retryAfterSeconds: number;
}

/** Query-string text as an integer in [min, max], documented as such (and required). */
function integer(min: number, max: number) {
  return z
    .string()
    .regex(/^-?\d{1,16}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: 'integer', minimum: min, maximum: max, param: { required: true } });
}

const PARAM_SCHEMAS: Record<ParamType, z.ZodType> = {
  String: z.string().max(1024),
  Int64: integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  UInt32: integer(0, 4_294_967_295),
  Float64: z
    .string()
    .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().finite())
    .openapi({ type: 'number', param: { required: true } }),
  DateTime: Instant,
  UUID: z.uuid(),
};

const QueryResult = z
  .object({
    name: z.string(),
    columns: z.array(z.string()),
    rows: z.array(z.record(z.string(), z.unknown())),
  })
  .openapi('QueryResult');

export function addQueryRoutes(app: OpenAPIHono<V1Env>, deps: QueryRouteDeps): void {
  const read = authenticate(deps.keys, 'read');
  for (const query of deps.queries.values()) {
    const showParam = query.params.some((p) => p.name === 'show_id');
    if (!showParam && query.scope === undefined) {
      throw new Error(`queries/${query.name}.sql: needs a show_id param or a 'scope:' header to be served`);
    }
    app.openapi(
      createRoute({
        method: 'get',
        path: `/v1/queries/${query.name}`,
        summary: query.purpose,
        middleware: [read] as const,
        request: {
          query: z.object(
            Object.fromEntries(
              query.params.map((p) => [
                p.name,
                PARAM_SCHEMAS[p.type].openapi({ description: p.description }),
              ]),
            ),
          ),
        },
        responses: {
          200: {
            description: `columns: ${query.columns.join(', ')}`,
            content: { 'application/json': { schema: QueryResult } },
          },
          ...errorResponses(400, 401, 403, 404, 503),
        },
      }),
      async function runNamedQuery(c) {
        const values = c.req.valid('query') as Record<string, unknown>;
        const shows = await visibleShows(deps, c.get('principal'), query, values);
        let sql: string;
        try {
          sql = renderNamedQuery(query, deps.database, values, shows);
        } catch (err) {
          if (err instanceof LiteralError) throw new HttpError(400, 'invalid_request', err.message);
          throw err;
        }
        try {
          const result = await deps.clickhouse.query({ query: sql, format: 'JSONEachRow' });
          const rows = await result.json<Record<string, unknown>>();
          return c.json({ name: query.name, columns: query.columns, rows }, 200);
        } catch (err) {
          if (!isClickHouseUnavailable(err)) throw err;
          throw new HttpError(
            503,
            'clickhouse_unavailable',
            'ClickHouse is unavailable; retry later',
            undefined,
            {
              'Retry-After': String(deps.retryAfterSeconds),
            },
          );
        }
      },
    );
  }
}

/** The shows an organizer key may see in this query (undefined: no filter). */
async function visibleShows(
  deps: QueryRouteDeps,
  principal: Principal,
  query: NamedQuery,
  values: Record<string, unknown>,
): Promise<string[] | undefined> {
  if (principal.kind === 'platform') return undefined;
  if (typeof values.show_id === 'string') {
    const access = await accessToShow(principal, values.show_id, deps.showOwners);
    if (access.kind !== 'allowed') throw showRefusalError(access);
    return undefined;
  }
  if (query.scope === 'platform') {
    throw new HttpError(403, 'forbidden', `${query.name} covers the whole platform and needs a platform key`);
  }
  const rows = await deps.db
    .selectFrom('shows')
    .select('id')
    .where('organizer_id', '=', principal.organizerId)
    .execute();
  return rows.map((r) => r.id);
}
