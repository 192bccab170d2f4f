/**
 * Registers the simulator's organizer and shows through the entity API (POST /v1/organizers,
 * POST /v1/shows), so capacity and pricing views have something to work on. Safe to repeat:
 * an organizer or show that exists already (409) is left as it is.
 */
import type { createTrafficModel } from './traffic-model.js';

/** The demo organizer's fixed id, so repeated runs reuse it. */
export const DEMO_ORGANIZER_ID = '00000000-0000-4000-8000-00000000de50';

export interface RegisterOptions {
  url: string;
  adminKey: string;
  shows: ReturnType<typeof createTrafficModel>['shows'];
  /** Shows start this many days from now (the first), one more day for each next show. */
  firstShowInDays?: number;
}

/** Returns how many shows were created now (the rest existed). */
export async function registerDemoShows(options: RegisterOptions): Promise<number> {
  async function post(path: string, body: unknown): Promise<boolean> {
    const res = await fetch(`${options.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status === 201) return true;
    if (res.status === 409) return false;
    throw new Error(`POST ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }

  await post('/v1/organizers', { id: DEMO_ORGANIZER_ID, name: 'ticketpulse demo organizer' });
  let created = 0;
  const firstDay = options.firstShowInDays ?? 30;
  for (const show of options.shows) {
    // The show's number from its id (show-007 is the 7th), so a show opened later gets its own name and day.
    const i = Number(/\d+$/.exec(show.id)?.[0] ?? 1) - 1;
    const startsAt = new Date(Date.now() + (firstDay + i) * 86_400_000);
    startsAt.setUTCHours(19, 0, 0, 0);
    const made = await post('/v1/shows', {
      id: show.id,
      organizer_id: DEMO_ORGANIZER_ID,
      name: `Demo show ${i + 1}`,
      venue: `Demo arena ${i + 1}`,
      country: show.country,
      timezone: 'UTC',
      starts_at: startsAt.toISOString(),
      categories: show.categories.map((c) => ({
        category: c.name,
        capacity: c.capacity,
        price: c.price.toFixed(2),
        currency: show.currency,
      })),
    });
    if (made) created += 1;
  }
  return created;
}
