/**
 * The one place that decides whether a principal may act on a show: send its events (ingest),
 * read it (queries, shows, live) or change it (shows). Callers map the outcome once, each in
 * its channel's terms (docs/entities-api.md):
 *
 * | outcome           | ingest                  | HTTP                | live (`error` code) |
 * | ----------------- | ----------------------- | ------------------- | ------------------- |
 * | `unknown_show`    | the record is rejected  | 404 `not_found`     | `not_found`         |
 * | `other_organizer` | the record is rejected  | 403 `forbidden`     | `forbidden`         |
 *
 * with the outcome's `message` as the reason (REFUSALS holds the codes). Platform keys act for
 * every organizer, and accessToShows does not ask the registry for them: they may send, query
 * and watch any show, registered or not. Where the show itself is read (the show routes), a
 * show that is not there is `unknown_show` for every key.
 */
import { actsFor, type Principal } from './principal.js';
import type { ShowOwners } from './show-owners.js';

export type ShowAccess =
  | { kind: 'allowed' }
  | { kind: 'unknown_show'; show: string; message: string }
  | { kind: 'other_organizer'; show: string; message: string };

export type ShowRefusal = Exclude<ShowAccess, { kind: 'allowed' }>;

const ALLOWED: ShowAccess = { kind: 'allowed' };

/** How HTTP (status and error code) and the live protocol (error code) tell each refusal. */
export const REFUSALS = {
  unknown_show: { status: 404, code: 'not_found' },
  other_organizer: { status: 403, code: 'forbidden' },
} as const satisfies Record<ShowRefusal['kind'], { status: number; code: string }>;

/**
 * The decision for one show as the registry answered: `owner` is the organizer that owns it,
 * or null when no such show is registered.
 */
export function showAccess(principal: Principal, show: string, owner: string | null): ShowAccess {
  if (owner === null)
    return {
      kind: 'unknown_show',
      show,
      message: `unknown show '${show}': register it with POST /v1/shows first`,
    };
  if (!actsFor(principal, owner))
    return { kind: 'other_organizer', show, message: `show '${show}' belongs to another organizer` };
  return ALLOWED;
}

/**
 * The decision for each of these shows, asking the registry once for all of them (not at all
 * for a platform key). Without a registry (a process without Postgres) no show is known.
 *
 * @example
 * const access = (await accessToShows(principal, [showId], showOwners)).get(showId)!;
 * if (access.kind !== 'allowed') throw new HttpError(REFUSALS[access.kind].status, REFUSALS[access.kind].code, access.message);
 */
export async function accessToShows(
  principal: Principal,
  shows: Iterable<string>,
  owners: ShowOwners | undefined,
): Promise<Map<string, ShowAccess>> {
  const ids = new Set(shows);
  const known =
    principal.kind === 'platform' || !owners || ids.size === 0
      ? new Map<string, string | null>()
      : await owners.ownersOf(ids);
  const access = new Map<string, ShowAccess>();
  for (const id of ids)
    access.set(
      id,
      principal.kind === 'platform' ? ALLOWED : showAccess(principal, id, known.get(id) ?? null),
    );
  return access;
}

/** The decision for one show (see accessToShows). */
export async function accessToShow(
  principal: Principal,
  show: string,
  owners: ShowOwners | undefined,
): Promise<ShowAccess> {
  return (await accessToShows(principal, [show], owners)).get(show) ?? ALLOWED;
}
