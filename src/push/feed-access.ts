/**
 * Whether a principal may watch a feed with these params: by the feed's scope (src/push/feeds.ts)
 * — a show column must name a show the key may read (src/auth/show-access.ts decides), an
 * organizer column the key's own organizer, and platform feeds need a platform key.
 */
import { accessToShow, REFUSALS } from '../auth/show-access.js';
import type { Principal } from '../auth/principal.js';
import type { ShowOwners } from '../auth/show-owners.js';
import type { Feed } from './feeds.js';

/** An `error` message's code and text for a refused subscription. */
export interface FeedRefusal {
  code: string;
  message: string;
}

const forbidden = (message: string): FeedRefusal => ({ code: 'forbidden', message });

/** Why this principal may not watch the feed with these params, or undefined. */
export async function feedRefusal(
  principal: Principal,
  feed: Feed,
  params: Record<string, string | number>,
  showOwners: ShowOwners | undefined,
): Promise<FeedRefusal | undefined> {
  if (principal.kind === 'platform') return undefined;
  if (feed.scope === 'platform') return forbidden(`feed '${feed.name}' is for platform keys only`);
  if ('organizer' in feed.scope) {
    return params[feed.scope.organizer] === principal.organizerId
      ? undefined
      : forbidden(
          `an organizer key must set params.${feed.scope.organizer} to its own organizer ('${principal.organizerId}')`,
        );
  }
  const show = params[feed.scope.show];
  if (typeof show !== 'string')
    return forbidden(`an organizer key must name one of its shows in params.${feed.scope.show}`);
  const access = await accessToShow(principal, show, showOwners);
  return access.kind === 'allowed'
    ? undefined
    : { code: REFUSALS[access.kind].code, message: access.message };
}
