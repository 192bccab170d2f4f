/**
 * Shows and their ticket categories. Reading needs `read`, changing needs `admin`; a key sees
 * only its organizer's shows (src/auth/show-access.ts: 403 for another organizer's, 404 for an
 * unknown id, whatever the key).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { KeyStore } from '../../auth/key-store.js';
import { actsFor, type Principal } from '../../auth/principal.js';
import { showAccess } from '../../auth/show-access.js';
import type { Db, TicketCategory } from '../../db/schema.js';
import {
  createShow,
  getShow,
  listShows,
  patchShow,
  putCategory,
  type ShowWithCategories,
} from '../../entities/shows.js';
import { authenticate } from '../authenticate.js';
import { HttpError, showRefusalError } from '../http-error.js';
import {
  Category,
  CategoryBody,
  CategoryName,
  Show,
  ShowCreate,
  ShowId,
  ShowPatchBody,
} from './api-schemas.js';
import { errorResponses, type V1Env } from './openapi-app.js';

const ShowParam = z.object({ id: ShowId });

export function addShowRoutes(app: OpenAPIHono<V1Env>, deps: { db: Db; keys: KeyStore }): void {
  const { db } = deps;
  const admin = authenticate(deps.keys, 'admin');
  const read = authenticate(deps.keys, 'read');

  /** The show if the caller may see it (src/auth/show-access.ts): 404 unknown, 403 another organizer's. */
  async function visibleShow(principal: Principal, id: string): Promise<ShowWithCategories> {
    const show = await getShow(db, id);
    const access = showAccess(principal, id, show?.organizer_id ?? null);
    if (access.kind !== 'allowed') throw showRefusalError(access);
    return show!; // allowed: the show was found (no owner is unknown_show)
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/shows',
      summary: "Register a show with its ticket categories for the caller's organizer",
      middleware: [admin] as const,
      request: { body: { content: { 'application/json': { schema: ShowCreate } }, required: true } },
      responses: {
        201: { description: 'created', content: { 'application/json': { schema: Show } } },
        ...errorResponses(400, 401, 403, 404, 409, 503),
      },
    }),
    async function postShow(c) {
      const principal = c.get('principal');
      const body = c.req.valid('json');
      const organizerId = principal.kind === 'organizer' ? principal.organizerId : body.organizer_id;
      // The platform admin key acts for no organizer of its own: it must name one. What the key
      // may do, not the body, decides this, so it is a 403 like another organizer's id.
      if (organizerId === undefined) {
        throw new HttpError(
          403,
          'organizer_required',
          "the platform admin key must name the show's organizer_id",
        );
      }
      if (body.organizer_id !== undefined && !actsFor(principal, body.organizer_id)) {
        throw new HttpError(403, 'forbidden', 'this key belongs to another organizer');
      }
      if (await getShow(db, body.id))
        throw new HttpError(409, 'conflict', `show '${body.id}' exists already`);
      const duplicate = firstDuplicate(body.categories.map((c) => c.category));
      // A conflict of keys like the show's id: two categories of one name cannot both exist.
      if (duplicate !== undefined)
        throw new HttpError(409, 'conflict', `category '${duplicate}' is listed twice`);
      const show = await createShow(db, {
        ...body,
        organizer_id: organizerId,
        starts_at: new Date(body.starts_at),
        categories: body.categories,
      });
      return c.json(showJson(show), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/shows',
      summary: "The caller's organizer's shows (every show for the platform admin key)",
      middleware: [read] as const,
      responses: {
        200: {
          description: 'shows by start time',
          content: { 'application/json': { schema: z.array(Show) } },
        },
        ...errorResponses(401, 403, 503),
      },
    }),
    async function getShows(c) {
      const principal = c.get('principal');
      const shows = await listShows(db, principal.kind === 'organizer' ? principal.organizerId : undefined);
      return c.json(shows.map(showJson), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/shows/{id}',
      summary: 'One show with its categories',
      middleware: [read] as const,
      request: { params: ShowParam },
      responses: {
        200: { description: 'the show', content: { 'application/json': { schema: Show } } },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    async function getOneShow(c) {
      return c.json(showJson(await visibleShow(c.get('principal'), c.req.valid('param').id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/shows/{id}',
      summary: "Change a show's fields",
      middleware: [admin] as const,
      request: {
        params: ShowParam,
        body: { content: { 'application/json': { schema: ShowPatchBody } }, required: true },
      },
      responses: {
        200: { description: 'the show', content: { 'application/json': { schema: Show } } },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    async function patchOneShow(c) {
      const { id } = c.req.valid('param');
      await visibleShow(c.get('principal'), id);
      const { starts_at, ...rest } = c.req.valid('json');
      await patchShow(db, id, {
        ...rest,
        ...(starts_at === undefined ? {} : { starts_at: new Date(starts_at) }),
      });
      return c.json(showJson((await getShow(db, id))!), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/shows/{id}/categories/{category}',
      summary:
        "Create or change a ticket category's capacity and price; capacity_status follows within a second",
      middleware: [admin] as const,
      request: {
        params: ShowParam.extend({ category: CategoryName }),
        body: { content: { 'application/json': { schema: CategoryBody } }, required: true },
      },
      responses: {
        200: { description: 'the category', content: { 'application/json': { schema: Category } } },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    async function putOneCategory(c) {
      const { id, category } = c.req.valid('param');
      await visibleShow(c.get('principal'), id);
      const body = c.req.valid('json');
      const row = await putCategory(db, id, { category, ...body });
      return c.json(categoryJson(row), 200);
    },
  );
}

function showJson(show: ShowWithCategories): z.infer<typeof Show> {
  return {
    id: show.id,
    organizer_id: show.organizer_id,
    name: show.name,
    venue: show.venue,
    country: show.country,
    timezone: show.timezone,
    starts_at: show.starts_at.toISOString(),
    status: show.status,
    updated_at: show.updated_at.toISOString(),
    categories: show.categories.map(categoryJson),
  };
}

function categoryJson(row: TicketCategory): z.infer<typeof Category> {
  return { category: row.category, capacity: row.capacity, price: row.price, currency: row.currency };
}

function firstDuplicate(values: string[]): string | undefined {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) return value;
    seen.add(value);
  }
  return undefined;
}
