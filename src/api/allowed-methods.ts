/**
 * 405 with `Allow` for a path the app has under other methods (RFC 9110 §15.5.6), rather
 * than 404: `TRACE /v1/shows` is a method the resource does not have, not a missing resource.
 * The methods come from the app's own route table, so a new route is covered without a list
 * to keep.
 */
import type { Hono } from 'hono';

/** The methods each path answers, from the routes of `app` (read once, when first asked). */
export function createAllowedMethods(app: Hono): (path: string) => string[] {
  let table: { pattern: RegExp; methods: Set<string> }[] | undefined;

  function build() {
    const byPath = new Map<string, Set<string>>();
    for (const route of app.routes) {
      // Middleware is registered as method ALL; it does not make a path exist.
      if (route.method === 'ALL' || route.path.includes('*')) continue;
      const methods = byPath.get(route.path) ?? new Set<string>();
      methods.add(route.method);
      // hono answers HEAD with the GET route.
      if (route.method === 'GET') methods.add('HEAD');
      byPath.set(route.path, methods);
    }
    return [...byPath].map(([path, methods]) => ({ pattern: pathPattern(path), methods }));
  }

  return function allowedMethods(path) {
    table ??= build();
    const methods = new Set<string>();
    for (const entry of table) {
      if (entry.pattern.test(path)) for (const method of entry.methods) methods.add(method);
    }
    return [...methods].sort();
  };
}

/** `/v1/shows/:id` → a RegExp matching one segment per parameter. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}
