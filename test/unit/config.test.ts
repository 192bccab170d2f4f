import { describe, expect, it } from 'vitest';
import { kafkaBrokers, loadConfig, stackPorts, topicShards } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults to the local stack', () => {
    const config = loadConfig({});
    expect(config.KAFKA_BROKERS).toBe('127.0.0.1:19092');
    expect(config.CLICKHOUSE_URL).toBe('http://127.0.0.1:18123');
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:15432/ticketpulse');
    expect(config.PORT).toBe(8080);
  });

  it('moves the local stack by TICKETPULSE_STACK_PORT_OFFSET, unless an address is set', () => {
    const config = loadConfig({
      TICKETPULSE_STACK_PORT_OFFSET: '1000',
      DATABASE_URL: 'postgres://db:5432/x',
    });
    expect(config.KAFKA_BROKERS).toBe('127.0.0.1:20092');
    expect(config.CLICKHOUSE_URL).toBe('http://127.0.0.1:19123');
    expect(config.DATABASE_URL).toBe('postgres://db:5432/x');
    expect(config.INFLUX_URL).toBe('http://127.0.0.1:19086');
    expect(stackPorts(config.TICKETPULSE_STACK_PORT_OFFSET)).toEqual({
      kafka: 20092,
      kafkaController: 20093,
      clickhouseHttp: 19123,
      clickhouseNative: 20000,
      postgres: 16432,
      influxdb: 19086,
      influxdbRpc: 19087,
    });
    expect(loadConfig({}).TICKETPULSE_STACK_PORT_OFFSET).toBe(0);
    for (const bad of ['-1', '40001', '1.5', 'x']) {
      expect(() => loadConfig({ TICKETPULSE_STACK_PORT_OFFSET: bad })).toThrow(
        /TICKETPULSE_STACK_PORT_OFFSET/,
      );
    }
  });

  it('treats empty variables as unset and coerces numbers', () => {
    expect(loadConfig({ PORT: '', HEALTH_TIMEOUT_MS: '500' })).toMatchObject({
      PORT: 8080,
      HEALTH_TIMEOUT_MS: 500,
    });
  });

  it('lists every invalid variable at once', () => {
    const attempt = () =>
      loadConfig({ PORT: '99999', CLICKHOUSE_DATABASE: 'x; DROP', CLICKHOUSE_URL: 'nope' });
    expect(attempt).toThrow(/PORT/);
    expect(attempt).toThrow(/CLICKHOUSE_DATABASE: must be a plain identifier/);
    expect(attempt).toThrow(/CLICKHOUSE_URL/);
  });

  it('splits the broker list', () => {
    expect(kafkaBrokers({ KAFKA_BROKERS: ' a:1, b:2 ,' })).toEqual(['a:1', 'b:2']);
  });

  it('reads the roles a process runs, all by default, and refuses unknown ones', () => {
    expect(loadConfig({}).TICKETPULSE_ROLES).toEqual(['api', 'rules', 'bridge', 'push']);
    expect(loadConfig({ TICKETPULSE_ROLES: ' api, api ,rules' }).TICKETPULSE_ROLES).toEqual(['api', 'rules']);
    expect(() => loadConfig({ TICKETPULSE_ROLES: 'api,gateway' })).toThrow(
      /TICKETPULSE_ROLES: expected some of/,
    );
  });

  it('leaves the live token secret unset by default (random per process) and bounds the TTL', () => {
    expect(loadConfig({}).LIVE_TOKEN_SECRET).toBeUndefined();
    expect(loadConfig({}).LIVE_TOKEN_TTL_SECONDS).toBe(300);
    const secret = 'x'.repeat(32);
    expect(loadConfig({ LIVE_TOKEN_SECRET: secret, LIVE_TOKEN_TTL_SECONDS: '60' })).toMatchObject({
      LIVE_TOKEN_SECRET: secret,
      LIVE_TOKEN_TTL_SECONDS: 60,
    });
    expect(() => loadConfig({ LIVE_TOKEN_SECRET: 'short' })).toThrow(
      /LIVE_TOKEN_SECRET: must be at least 32 characters/,
    );
    for (const bad of ['0', '3601', '1.5'])
      expect(() => loadConfig({ LIVE_TOKEN_TTL_SECONDS: bad })).toThrow(/LIVE_TOKEN_TTL_SECONDS/);
  });

  it('refuses shards without a cluster, and names shard topics only on a cluster', () => {
    expect(() => loadConfig({ CLICKHOUSE_SHARDS: '2' })).toThrow(/CLICKHOUSE_SHARDS: shards need a cluster/);
    expect(topicShards(loadConfig({}))).toBe(0);
    const cluster = { CLICKHOUSE_CLUSTER: 'c', CLICKHOUSE_SERVERS_CLUSTER: 'c_servers' };
    expect(topicShards(loadConfig({ ...cluster, CLICKHOUSE_SHARDS: '2' }))).toBe(2);
    expect(topicShards(loadConfig(cluster))).toBe(1);
  });

  it('refuses the rules role on a cluster without the cluster of every server (the dedup horizon job needs it)', () => {
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'c' })).toThrow(
      /CLICKHOUSE_SERVERS_CLUSTER: the rules role/,
    );
    expect(
      loadConfig({ CLICKHOUSE_CLUSTER: 'c', TICKETPULSE_ROLES: 'api,push,bridge' }).CLICKHOUSE_CLUSTER,
    ).toBe('c');
  });
});
