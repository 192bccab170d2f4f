// The dashboard's files as the push role serves them: pages, modules and uPlot from
// node_modules, all from this origin, with no build step.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createDashboardRoutes } from '../../src/dashboard/dashboard-routes.js';

const app = createApp({
  logger: pino({ level: 'silent' }),
  probes: [],
  healthTimeoutMs: 1000,
  routes: [createDashboardRoutes()],
});

describe('dashboard routes', () => {
  it('serves the picker, the show page and the modules they load', async () => {
    const picker = await app.request('/dashboard');
    expect(picker.status).toBe(200);
    expect(picker.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await picker.text()).toContain('/dashboard/assets/picker.js');

    const show = await app.request('/dashboard/show-001');
    expect(show.status).toBe(200);
    const html = await show.text();
    expect(show.headers.get('content-security-policy')).toContain("default-src 'self'");
    // Every file the page names is served here: nothing from another origin.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toContain('/dashboard/vendor/uPlot.min.css');
    for (const ref of refs.filter((r) => !r.startsWith('data:') && r !== '/dashboard')) {
      const res = await app.request(ref);
      expect(res.status, ref).toBe(200);
    }
    const module = await app.request('/dashboard/assets/panels.js');
    expect(module.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await module.text()).toContain("from '../vendor/uPlot.esm.js'");
    const uplot = await app.request('/dashboard/vendor/uPlot.esm.js');
    expect(uplot.status).toBe(200);
    expect(await uplot.text()).toContain('export { uPlot as default }');
  });

  it('answers 404 for a file it does not have', async () => {
    for (const path of [
      '/dashboard/assets/nope.js',
      '/dashboard/vendor/uPlot.cjs.js',
      '/dashboard/assets/..%2Fdashboard-routes.ts',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
    }
  });
});
