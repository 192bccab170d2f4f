/**
 * The organizer's live dashboard: `/dashboard` lists the key's shows, `/dashboard/:show` shows
 * one live over `/v1/live`. Plain HTML, ES modules and CSS from ./public and uPlot's own dist
 * files from node_modules, read once when the routes are made: no build step, nothing fetched
 * from elsewhere. The pages hold no data and need no key; the key (`?key=` on the page address)
 * is used by the page's requests to the API and the WebSocket.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { Hono } from 'hono';
import { HttpError } from '../api/http-error.js';

const PUBLIC_DIR = new URL('./public/', import.meta.url).pathname;
/** uPlot's files the pages load (as /dashboard/vendor/<name>). */
const VENDOR_FILES = ['uPlot.esm.js', 'uPlot.min.css'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Everything from this origin; inline style attributes for the gauges' and bars' widths; the
 * WebSocket to the same host ('self' covers ws: and wss: there).
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

interface Asset {
  body: string;
  type: string;
}

function readAssets(dir: string, names: readonly string[]): Map<string, Asset> {
  return new Map(
    names.map((name) => {
      const type = CONTENT_TYPES[extname(name)];
      if (!type) throw new Error(`no content type for ${name}`);
      return [name, { body: readFileSync(join(dir, name), 'utf8'), type }];
    }),
  );
}

/** Routes for `/dashboard`, `/dashboard/:show` and their assets; mount on the push role's app. */
export function createDashboardRoutes(): Hono {
  const assets = readAssets(
    PUBLIC_DIR,
    readdirSync(PUBLIC_DIR).filter((name) => extname(name) in CONTENT_TYPES),
  );
  const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  const vendor = readAssets(uplotDir, VENDOR_FILES);

  const app = new Hono();
  function serve(asset: Asset | undefined, path: string): Response {
    if (!asset) throw new HttpError(404, 'not_found', `no dashboard file ${path}`);
    return new Response(asset.body, {
      headers: {
        'content-type': asset.type,
        'cache-control': 'no-cache',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
      },
    });
  }
  app.get('/dashboard/assets/:file', function dashboardAsset(c) {
    return serve(assets.get(c.req.param('file')), c.req.path);
  });
  app.get('/dashboard/vendor/:file', function dashboardVendor(c) {
    return serve(vendor.get(c.req.param('file')), c.req.path);
  });
  app.get('/dashboard', function dashboardPicker(c) {
    return serve(assets.get('picker.html'), c.req.path);
  });
  app.get('/dashboard/', function dashboardSlash(c) {
    return c.redirect('/dashboard');
  });
  app.get('/dashboard/:show', function dashboardShow(c) {
    return serve(assets.get('show.html'), c.req.path);
  });
  return app;
}
