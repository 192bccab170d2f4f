/**
 * The validators of the deployment descriptions (test/unit/deploy.test.ts), installed once per
 * machine into `~/.cache/ticketpulse/deploy-tools/` (XDG_CACHE_HOME respected) from the Go module
 * proxy and PyPI, each only when missing, so a warm machine checks in a second:
 * - Docker Compose, built from its Go module (there is no Docker engine or compose plugin here;
 *   `go install` refuses the module for its go.mod's exclude directives, so it is built in a
 *   module of its own). Run standalone, it parses and validates a compose file like
 *   `docker compose config`, against the compose-spec schema it embeds.
 * - kubeconform (`go install`), which validates manifests against JSON schemas.
 * - Those schemas, generated from the Kubernetes API's own OpenAPI document
 *   (`api/openapi-spec/swagger.json` in the `k8s.io/kubernetes` module, `go mod download`) by
 *   PyPI's openapi2jsonschema-ng, in a virtualenv of its own, with every property checked
 *   (`--strict`). Its PyYAML also reads the manifests for the test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';

export const COMPOSE_VERSION = 'v5.6.0';
export const KUBECONFORM_VERSION = 'v0.7.0';
/** The Kubernetes release whose API the manifests are checked against. */
export const KUBERNETES_VERSION = 'v1.34.4';
/** openapi2jsonschema-ng and its dependencies, pinned. */
const CONVERTER = [
  'openapi2jsonschema-ng==0.9.0',
  'click==8.5.1',
  'colorama==0.4.6',
  'jsonref==1.1.0',
  'PyYAML==6.0.4',
];

/** Where each tool is, once installed. */
export interface DeployTools {
  compose: string;
  kubeconform: string;
  /** A folder of `<kind>[-<group>]-<version>.json` schemas, as kubeconform's templates name them. */
  schemas: string;
  /** The converter's Python, which has PyYAML. */
  python: string;
}

export function deployTools(): DeployTools {
  const root = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ticketpulse', 'deploy-tools');
  return {
    compose: join(root, `docker-compose-${COMPOSE_VERSION}`, 'docker-compose'),
    kubeconform: join(root, `kubeconform-${KUBECONFORM_VERSION}`, 'kubeconform'),
    schemas: join(root, `kubernetes-schemas-${KUBERNETES_VERSION}-strict`),
    python: join(root, 'openapi2jsonschema-ng', 'bin', 'python'),
  };
}

/** Runs a command to completion; throws with its output when it fails. */
function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Installs whatever of the tools is missing; each step is skipped when its result exists. */
export function ensureDeployTools(log: (line: string) => void): DeployTools {
  const tools = deployTools();
  if (!existsSync(tools.kubeconform)) {
    log(`installing kubeconform ${KUBECONFORM_VERSION} (go install)`);
    run('go', ['install', `github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`], {
      env: { ...process.env, GOBIN: join(tools.kubeconform, '..') },
    });
  }
  if (!existsSync(tools.compose)) {
    log(`building docker compose ${COMPOSE_VERSION} from its Go module (about 2 minutes once)`);
    const build = join(tools.compose, '..', 'build');
    mkdirSync(build, { recursive: true });
    writeFileSync(join(build, 'go.mod'), 'module compose-build\n\ngo 1.26\n');
    run('go', ['get', `github.com/docker/compose/v5/cmd@${COMPOSE_VERSION}`], { cwd: build });
    const version = `-X github.com/docker/compose/v5/internal.Version=${COMPOSE_VERSION}`;
    run(
      'go',
      [
        'build',
        '-trimpath',
        '-ldflags',
        `-s -w ${version}`,
        '-o',
        tools.compose,
        'github.com/docker/compose/v5/cmd',
      ],
      {
        cwd: build,
      },
    );
  }
  const converter = join(tools.python, '..', 'openapi2jsonschema');
  if (!existsSync(converter)) {
    log(`installing ${CONVERTER[0]} into a virtualenv (pip)`);
    const venv = join(tools.python, '..', '..');
    run('python3', ['-m', 'venv', venv]);
    run(tools.python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...CONVERTER]);
  }
  if (!existsSync(tools.schemas)) {
    log(
      `generating JSON schemas from k8s.io/kubernetes@${KUBERNETES_VERSION}'s OpenAPI document (under a minute once)`,
    );
    const module = JSON.parse(
      run('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`]),
    ) as {
      Dir: string;
    };
    const partial = `${tools.schemas}.partial`;
    rmSync(partial, { recursive: true, force: true });
    const spec = `file://${join(module.Dir, 'api', 'openapi-spec', 'swagger.json')}`;
    // The converter resolves its own $refs against the working folder: give it a relative -o.
    run(
      converter,
      ['--kubernetes', '--strict', '--stand-alone', '--expanded', '-o', basename(partial), spec],
      {
        cwd: dirname(partial),
      },
    );
    // It reports the types it does not convert (CustomResourceDefinition and its parts) and goes
    // on; a kind the manifests use without a schema fails the test (kubeconform: Errors).
    renameSync(partial, tools.schemas);
  }
  return tools;
}
