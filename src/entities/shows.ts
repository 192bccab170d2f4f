/** Shows and their ticket categories in Postgres (kysely). */
import type { Db, Show, ShowStatus, TicketCategory } from '../db/schema.js';

export interface CategoryInput {
  category: string;
  capacity: number;
  /** Decimal text, e.g. "49.90". */
  price: string;
  currency: string;
}

export interface ShowInput {
  id: string;
  organizer_id: string;
  name: string;
  venue: string;
  country: string;
  timezone: string;
  starts_at: Date;
  status?: ShowStatus;
  categories: CategoryInput[];
}

export type ShowPatch = Partial<
  Pick<ShowInput, 'name' | 'venue' | 'country' | 'timezone' | 'starts_at' | 'status'>
>;

export interface ShowWithCategories extends Show {
  categories: TicketCategory[];
}

/** Inserts a show and its categories in one transaction; a duplicate id is a unique violation (23505). */
export async function createShow(db: Db, input: ShowInput): Promise<ShowWithCategories> {
  const { categories, ...show } = input;
  return db.transaction().execute(async (tx) => {
    const row = await tx.insertInto('shows').values(show).returningAll().executeTakeFirstOrThrow();
    const rows =
      categories.length === 0
        ? []
        : await tx
            .insertInto('ticket_categories')
            .values(categories.map((c) => ({ ...c, show_id: input.id })))
            .returningAll()
            .execute();
    return { ...row, categories: rows };
  });
}

export async function getShow(db: Db, id: string): Promise<ShowWithCategories | undefined> {
  const show = await db.selectFrom('shows').selectAll().where('id', '=', id).executeTakeFirst();
  if (!show) return undefined;
  const categories = await db
    .selectFrom('ticket_categories')
    .selectAll()
    .where('show_id', '=', id)
    .orderBy('category')
    .execute();
  return { ...show, categories };
}

/** Shows of one organizer, or of all when `organizerId` is undefined, by start time. */
export async function listShows(db: Db, organizerId: string | undefined): Promise<ShowWithCategories[]> {
  let query = db.selectFrom('shows').selectAll();
  if (organizerId !== undefined) query = query.where('organizer_id', '=', organizerId);
  const shows = await query.orderBy('starts_at').orderBy('id').execute();
  if (shows.length === 0) return [];
  const categories = await db
    .selectFrom('ticket_categories')
    .selectAll()
    .where(
      'show_id',
      'in',
      shows.map((s) => s.id),
    )
    .orderBy('category')
    .execute();
  return shows.map((show) => ({ ...show, categories: categories.filter((c) => c.show_id === show.id) }));
}

export async function patchShow(db: Db, id: string, patch: ShowPatch): Promise<void> {
  if (Object.keys(patch).length === 0) return;
  await db.updateTable('shows').set(patch).where('id', '=', id).execute();
}

export async function putCategory(db: Db, showId: string, input: CategoryInput): Promise<TicketCategory> {
  const { category, ...values } = input;
  return db
    .insertInto('ticket_categories')
    .values({ show_id: showId, category, ...values })
    .onConflict((oc) => oc.columns(['show_id', 'category']).doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}
