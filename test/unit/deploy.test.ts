// The deployment descriptions, checked by real tools (docs/deployment.md): docker-compose.yml,
// cluster profile included, parsed and validated by Docker Compose itself; every manifest in
// deploy/kubernetes/ validated by kubeconform against JSON schemas generated from the
// Kubernetes API's own OpenAPI document; and what ties them to the code: the environment names
// src/config.ts reads, the settings files they copy, the health endpoints. The tools come from
// scripts/deploy-tools.ts, which `npm test` runs (scripts/ensure-test-tools.ts): without them this
// test fails and says so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployTools } from '../../scripts/deploy-tools.js';
import { loadConfig, schema } from '../../src/config.js';

const ROOT = resolve(import.meta.dirname, '../..');
const K8S = join(ROOT, 'deploy/kubernetes');
const tools = deployTools();

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `${command} is missing (npx tsx scripts/ensure-test-tools.ts installs it): ${result.error.message}`,
    );
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function compose(...args: string[]) {
  return run(tools.compose, ['-f', 'docker-compose.yml', '-p', 'ticketpulse', ...args]);
}

function kubeconform(...paths: string[]) {
  const location = join(tools.schemas, '{{ .ResourceKind }}{{ .KindSuffix }}.json');
  return run(tools.kubeconform, ['-strict', '-summary', '-schema-location', location, ...paths]);
}

interface ComposeService {
  ports?: { published: string }[];
  volumes?: { type: string; source: string }[];
}

function composeServices(...profiles: string[]): Record<string, ComposeService> {
  const flags = profiles.flatMap((p) => ['--profile', p]);
  const { status, output } = compose(...flags, 'config', '--format', 'json');
  expect(status, output).toBe(0);
  return (JSON.parse(output) as { services: Record<string, ComposeService> }).services;
}

describe('docker-compose.yml', () => {
  it.each([[[]], [['cluster']], [['*']]])('is valid for Docker Compose with profiles %j', (profiles) => {
    const { status, output } = compose(...profiles.flatMap((p) => ['--profile', p]), 'config', '-q');
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('keeps the single-node stack the default, and the cluster a profile beside it', () => {
    const single = ['clickhouse', 'influxdb', 'kafka', 'postgres'];
    expect(Object.keys(composeServices()).sort()).toEqual(single);
    const cluster = composeServices('cluster');
    expect(Object.keys(cluster).sort()).toEqual(
      [
        ...single,
        'clickhouse-s1r1',
        'clickhouse-s1r2',
        'clickhouse-s2r1',
        'clickhouse-s2r2',
        'cluster-app',
        'kafka-1',
        'kafka-2',
        'kafka-3',
        'zookeeper',
      ].sort(),
    );
    const published = Object.values(cluster).flatMap((s) => (s.ports ?? []).map((p) => p.published));
    expect(published.length).toBeGreaterThan(10);
    expect(new Set(published).size, 'a host port is published twice').toBe(published.length);
  });

  it('mounts only files that exist', () => {
    const sources = Object.values(composeServices('*')).flatMap((s) =>
      (s.volumes ?? []).filter((v) => v.type === 'bind').map((v) => v.source),
    );
    expect(sources.filter((source) => !existsSync(source))).toEqual([]);
  });
});

describe('deploy/kubernetes', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('every manifest is valid against the Kubernetes API schema (kubeconform -strict)', () => {
    const { status, output } = kubeconform(K8S);
    expect(output).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
    expect(status, output).toBe(0);
  });

  it('kubeconform rejects a manifest the API would reject', () => {
    const broken = join(scratch, 'broken.yaml');
    const api = readFileSync(join(K8S, '40-api.yaml'), 'utf8');
    // An unknown field, and a count that is not a number.
    writeFileSync(broken, api.replace('replicas: 3', "replicas: 'three'\n  replica: 3"));
    const { status, output } = kubeconform(broken);
    expect(output).toMatch(/Deployment ticketpulse-api is invalid/);
    expect(status).toBe(1);
  });

  /** Every object of every manifest, read by the converter's PyYAML. */
  const objects = (() => {
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
    const read = spawnSync(
      tools.python,
      [
        '-c',
        'import json, sys, yaml; print(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))',
        ...files.map((f) => join(K8S, f)),
      ],
      { encoding: 'utf8' },
    );
    return read.status === 0 ? (JSON.parse(read.stdout) as K8sObject[]) : [];
  })();
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('the service pods set only variables src/config.ts reads, with values it accepts', () => {
    expect(objects.length, 'the manifests could not be read').toBeGreaterThan(20);
    const shared = {
      ...find('ConfigMap', 'ticketpulse-config')!.data,
      ...find('Secret', 'ticketpulse-secrets')!.stringData,
    };
    const known = new Set(Object.keys(schema.shape));
    for (const role of ['api', 'push', 'rules', 'bridge']) {
      const container = find('Deployment', `ticketpulse-${role}`)!.spec.template.spec.containers[0]!;
      const env = { ...shared, ...Object.fromEntries(container.env!.map((e) => [e.name, e.value])) };
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      expect(loadConfig(env).TICKETPULSE_ROLES).toEqual([role]);
    }
    const migrate = find('Job', 'ticketpulse-migrate')!.spec.template.spec.containers[0]!;
    expect(migrate.command).toEqual(['npm', 'run', 'migrate']);
  });

  it('api and push scale 3 to 10 at 70 % CPU, and are ready by /healthz', () => {
    for (const role of ['api', 'push']) {
      const hpa = find('HorizontalPodAutoscaler', `ticketpulse-${role}`)!.spec;
      expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: `ticketpulse-${role}` });
      expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([3, 10]);
      expect(hpa.metrics![0]!.resource).toEqual({
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: 70 },
      });
      const container = find('Deployment', `ticketpulse-${role}`)!.spec.template.spec.containers[0]!;
      expect(container.readinessProbe!.httpGet!.path).toBe('/healthz');
      expect(container.livenessProbe!.httpGet!.path).toBe('/metrics');
    }
  });

  it("ClickHouse's settings are the local stack's files as they are", () => {
    const data = find('ConfigMap', 'clickhouse-config')!.data!;
    expect(data['ticketpulse.xml']).toBe(
      readFileSync(join(ROOT, 'stack/clickhouse/config.d/ticketpulse.xml'), 'utf8'),
    );
    expect(data['users-ticketpulse.xml']).toBe(
      readFileSync(join(ROOT, 'stack/clickhouse/users.d/ticketpulse.xml'), 'utf8'),
    );
  });
});

/** The fields of Kubernetes objects this test reads. */
interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec: {
    template: { spec: { containers: K8sContainer[] } };
    scaleTargetRef?: { kind: string; name: string };
    minReplicas?: number;
    maxReplicas?: number;
    metrics?: { resource?: unknown }[];
  };
}

interface K8sContainer {
  command?: string[];
  env?: { name: string; value: string }[];
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
}
