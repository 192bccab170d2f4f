import { describe, expect, it } from 'vitest';
import { downAmong } from '../../scripts/stack/status.js';

const results = [
  { name: 'kafka', status: 'up' },
  { name: 'clickhouse', status: 'up' },
  { name: 'postgres', status: 'up' },
  { name: 'influxdb', status: 'down' },
] as const;

describe('the stack exit status', () => {
  it('counts only the services asked for: npm run demo starts InfluxDB after the rest', () => {
    expect(downAmong(results, ['kafka', 'clickhouse', 'postgres'])).toEqual([]);
    expect(downAmong(results, ['influxdb'])).toEqual(['influxdb']);
  });

  it('counts every service when none was named', () => {
    expect(downAmong(results, [])).toEqual(['influxdb']);
  });
});
