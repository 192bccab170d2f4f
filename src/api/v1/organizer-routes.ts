/**
 * Organizers and what belongs to them directly: API keys, the pricing rule and fraud-rule
 * overrides. Creating an organizer needs the platform admin key; the rest needs `admin` scope on
 * a key of that organizer (or the platform admin key).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { KeyStore } from '../../auth/key-store.js';
import { actsFor, type Principal } from '../../auth/principal.js';
import { FRAUD_RULES, type Db } from '../../db/schema.js';
import {
  createApiKey,
  createOrganizer,
  deleteFraudOverride,
  findApiKey,
  getPricingRule,
  organizerExists,
  putFraudOverride,
  putPricingRule,
  revokeApiKey,
} from '../../entities/organizers.js';
import { authenticate } from '../authenticate.js';
import { HttpError } from '../http-error.js';
import {
  CreatedKey,
  FraudOverrideBody,
  FraudSwitchBody,
  KeyCreate,
  Organizer,
  OrganizerCreate,
  PricingRuleBody,
  RevokedKey,
} from './api-schemas.js';
import { errorResponses, type V1Env } from './openapi-app.js';

const OrganizerParam = z.object({ id: z.uuid() });

export function addOrganizerRoutes(app: OpenAPIHono<V1Env>, deps: { db: Db; keys: KeyStore }): void {
  const { db } = deps;
  const admin = authenticate(deps.keys, 'admin');

  /** 404 for an unknown organizer, 403 for one the caller may not act for. */
  async function ownOrganizer(principal: Principal, id: string): Promise<void> {
    if (!(await organizerExists(db, id))) throw new HttpError(404, 'not_found', `no organizer ${id}`);
    if (!actsFor(principal, id))
      throw new HttpError(403, 'forbidden', `this key belongs to another organizer`);
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/organizers',
      summary: 'Create an organizer (platform admin key only)',
      middleware: [admin] as const,
      request: { body: { content: { 'application/json': { schema: OrganizerCreate } }, required: true } },
      responses: {
        201: { description: 'created', content: { 'application/json': { schema: Organizer } } },
        ...errorResponses(400, 401, 403, 409, 503),
      },
    }),
    async function postOrganizer(c) {
      if (c.get('principal').kind !== 'platform') {
        throw new HttpError(403, 'forbidden', 'creating organizers needs the platform admin key');
      }
      const body = c.req.valid('json');
      if (body.id !== undefined && (await organizerExists(db, body.id))) {
        throw new HttpError(409, 'conflict', `organizer ${body.id} exists already`);
      }
      return c.json(await createOrganizer(db, body), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/organizers/{id}/keys',
      summary: 'Create an API key for the organizer; the key is in this answer only',
      middleware: [admin] as const,
      request: {
        params: OrganizerParam,
        body: { content: { 'application/json': { schema: KeyCreate } }, required: true },
      },
      responses: {
        201: { description: 'created', content: { 'application/json': { schema: CreatedKey } } },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    async function postKey(c) {
      const { id } = c.req.valid('param');
      await ownOrganizer(c.get('principal'), id);
      const body = c.req.valid('json');
      return c.json(await createApiKey(db, id, body.scopes, body.ingest_records_per_second), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/keys/{id}',
      summary: 'Revoke an API key; every process refuses it within a second',
      middleware: [admin] as const,
      request: { params: z.object({ id: z.uuid() }) },
      responses: {
        200: { description: 'revoked', content: { 'application/json': { schema: RevokedKey } } },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    async function deleteKey(c) {
      const { id } = c.req.valid('param');
      const key = await findApiKey(db, id);
      if (!key) throw new HttpError(404, 'not_found', `no key ${id}`);
      if (!actsFor(c.get('principal'), key.organizer_id)) {
        throw new HttpError(403, 'forbidden', 'this key belongs to another organizer');
      }
      const revoked = await revokeApiKey(db, id);
      // This process refuses the key from now on; the others learn it through the change feed.
      if (revoked) deps.keys.forget(revoked.keyHash);
      return c.json({ id, revoked_at: (revoked?.revokedAt ?? new Date()).toISOString() }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/organizers/{id}/pricing-rule',
      summary: 'The demand-pricing rule (thresholds and bounds) behind pricing_signals',
      middleware: [authenticate(deps.keys, 'read')] as const,
      request: { params: OrganizerParam },
      responses: {
        200: { description: 'the rule', content: { 'application/json': { schema: PricingRuleBody } } },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    async function getRule(c) {
      const { id } = c.req.valid('param');
      await ownOrganizer(c.get('principal'), id);
      const rule = await getPricingRule(db, id);
      if (!rule) throw new HttpError(404, 'not_found', `organizer ${id} has no pricing rule`);
      return c.json(rule, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/organizers/{id}/pricing-rule',
      summary: 'Set the demand-pricing rule; pricing_signals follows within a second',
      middleware: [admin] as const,
      request: {
        params: OrganizerParam,
        body: { content: { 'application/json': { schema: PricingRuleBody } }, required: true },
      },
      responses: {
        200: { description: 'the rule', content: { 'application/json': { schema: PricingRuleBody } } },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    }),
    async function putRule(c) {
      const { id } = c.req.valid('param');
      await ownOrganizer(c.get('principal'), id);
      return c.json(await putPricingRule(db, id, c.req.valid('json')), 200);
    },
  );

  // One path per rule, so that the document states each rule's body exactly.
  for (const rule of FRAUD_RULES) {
    const body = rule === 'large_amount' ? FraudOverrideBody : FraudSwitchBody;
    app.openapi(
      createRoute({
        method: 'put',
        path: `/v1/organizers/{id}/fraud-rules/${rule}`,
        summary:
          rule === 'large_amount'
            ? "Override large_amount for this organizer's shows: its threshold, window or switch"
            : `Switch ${rule} on or off for this organizer's shows (its limits are the platform's)`,
        middleware: [admin] as const,
        request: {
          params: OrganizerParam,
          body: { content: { 'application/json': { schema: body } }, required: true },
        },
        responses: {
          200: { description: 'the override', content: { 'application/json': { schema: body } } },
          ...errorResponses(400, 401, 403, 404, 503),
        },
      }),
      async function putOverride(c) {
        const { id } = c.req.valid('param');
        await ownOrganizer(c.get('principal'), id);
        return c.json(await putFraudOverride(db, id, rule, c.req.valid('json')), 200);
      },
    );

    app.openapi(
      createRoute({
        method: 'delete',
        path: `/v1/organizers/{id}/fraud-rules/${rule}`,
        summary: `Remove this organizer's override of ${rule}: the platform's setting applies again`,
        middleware: [admin] as const,
        request: { params: OrganizerParam },
        responses: {
          204: { description: 'removed (or there was none)' },
          ...errorResponses(400, 401, 403, 404, 503),
        },
      }),
      async function removeOverride(c) {
        const { id } = c.req.valid('param');
        await ownOrganizer(c.get('principal'), id);
        await deleteFraudOverride(db, id, rule);
        return c.body(null, 204);
      },
    );
  }
}
