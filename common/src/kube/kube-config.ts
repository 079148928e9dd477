// Where the API server is and how to authenticate to it: a kubeconfig file or the in-cluster ServiceAccount. Our own,
// because @kubernetes/client-node's KubeConfig costs ~88 MiB of RSS to import (measured: Node 26 alone 41 MiB, with
// client-node 129 MiB), more than the sftp pod's whole idle budget, and the client needs only its two methods below.
// Supported: server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name; client-certificate(-data)
// and client-key(-data), token and tokenFile. Exec plugins and auth providers are refused with a clear error.
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { KubeError, KubeErrorCode } from './errors.ts';

/** What the client needs of a configuration; @kubernetes/client-node's KubeConfig has the same shape (tests use it). */
export interface KubeAccess {
  getCurrentCluster(): { readonly server: string } | null;
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Bound ServiceAccount tokens rotate on disk (kubelet refreshes them well before expiry): re-read at this age. */
const TOKEN_REREAD_MS = 60_000;

interface Credentials {
  readonly server: string;
  readonly ca?: Buffer;
  readonly insecure?: boolean;
  readonly servername?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  readonly tokenFile?: string;
}

type Section = Record<string, unknown>;

function fail(message: string, cause?: unknown): never {
  throw new KubeError(KubeErrorCode.ApiUnavailable, message, cause === undefined ? undefined : { cause });
}

function named(list: unknown, name: unknown, what: string, key: string): Section {
  const entry = Array.isArray(list)
    ? (list as Section[]).find((e) => typeof e === 'object' && e !== null && e['name'] === name)
    : undefined;
  const value = entry?.[key];
  if (typeof value !== 'object' || value === null) fail(`kubeconfig: no ${what} named ${JSON.stringify(name)}`);
  return value as Section;
}

const str = (s: Section, key: string): string | undefined => (typeof s[key] === 'string' ? s[key] : undefined);

/** Inline `<key>-data` (base64) wins over the file `<key>`, resolved against the kubeconfig's directory. */
function material(s: Section, key: string, base: string): Buffer | undefined {
  const data = str(s, `${key}-data`);
  if (data !== undefined) return Buffer.from(data, 'base64');
  const file = str(s, key);
  if (file === undefined) return undefined;
  return readFileSync(isAbsolute(file) ? file : join(base, file));
}

/**
 * The credentials of a parsed kubeconfig document's current context. Throws KubeError(ApiUnavailable) naming what is
 * missing.
 */
export function kubeconfigCredentials(parsed: unknown, base: string): Credentials {
  if (typeof parsed !== 'object' || parsed === null) fail('kubeconfig is empty');
  const doc = parsed as Section;
  const contextName = doc['current-context'];
  const context = named(doc['contexts'], contextName, 'context', 'context');
  const cluster = named(doc['clusters'], context['cluster'], 'cluster', 'cluster');
  const user = context['user'] === undefined ? {} : named(doc['users'], context['user'], 'user', 'user');
  if (user['exec'] !== undefined || user['auth-provider'] !== undefined) {
    fail('kubeconfig: exec plugins and auth providers are not supported; use a token or a client certificate');
  }
  const server = str(cluster, 'server');
  if (server === undefined) fail(`kubeconfig: cluster ${JSON.stringify(context['cluster'])} has no server`);
  const ca = material(cluster, 'certificate-authority', base);
  const cert = material(user, 'client-certificate', base);
  const key = material(user, 'client-key', base);
  const token = str(user, 'token');
  const tokenFile = str(user, 'tokenFile');
  const servername = str(cluster, 'tls-server-name');
  return {
    server,
    ...(ca ? { ca } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecure: true } : {}),
    ...(servername ? { servername } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token ? { token } : {}),
    ...(tokenFile ? { tokenFile: isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile) } : {}),
  };
}

/** The in-cluster ServiceAccount: the Service env vars, the mounted CA and the (rotating) token file. */
export function inClusterCredentials(env: NodeJS.ProcessEnv = process.env, dir = SA_DIR): Credentials {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) fail('not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no kubeconfig given');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    tokenFile: join(dir, 'token'),
  };
}

export class KubeConfigAccess implements KubeAccess {
  readonly #c: Credentials;
  #token: { value: string; readAt: number } | undefined;

  constructor(credentials: Credentials) {
    this.#c = credentials;
  }

  getCurrentCluster(): { readonly server: string } {
    return { server: this.#c.server };
  }

  async applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    const c = this.#c;
    if (c.ca) options.ca = c.ca;
    if (c.cert) options.cert = c.cert;
    if (c.key) options.key = c.key;
    if (c.insecure) options.rejectUnauthorized = false;
    if (c.servername) options.servername = c.servername;
    const token = this.#bearer();
    if (token !== undefined) {
      options.headers = { ...(options.headers as Record<string, string>), Authorization: `Bearer ${token}` };
    }
  }

  #bearer(): string | undefined {
    if (this.#c.token !== undefined) return this.#c.token;
    if (this.#c.tokenFile === undefined) return undefined;
    const now = Date.now();
    if (this.#token === undefined || now - this.#token.readAt > TOKEN_REREAD_MS) {
      this.#token = { value: readFileSync(this.#c.tokenFile, 'utf8').trim(), readAt: now };
    }
    return this.#token.value;
  }
}

/**
 * The configuration to use, in client-go's order: `path` when given, else $KUBECONFIG (its first entry), else the
 * in-cluster ServiceAccount when running in a pod, else ~/.kube/config. Throws KubeError(ApiUnavailable) when none is
 * usable.
 */
export async function loadKubeAccess(path?: string, env: NodeJS.ProcessEnv = process.env): Promise<KubeAccess> {
  const file =
    path ??
    (env['KUBECONFIG'] ? env['KUBECONFIG'].split(':')[0] : undefined) ??
    (env['KUBERNETES_SERVICE_HOST'] ? undefined : join(homedir(), '.kube', 'config'));
  if (file === undefined) return new KubeConfigAccess(inClusterCredentials(env));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    fail(`cannot read kubeconfig ${file}`, cause);
  }
  // Loaded only here: a pod running in-cluster never needs a YAML parser. In the esbuild bundle the CommonJS module
  // arrives as a default export only, so take `parse` from either shape.
  const yaml = (await import('yaml')) as typeof import('yaml') & { default?: typeof import('yaml') };
  const parse = yaml.parse ?? yaml.default?.parse;
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (cause) {
    fail(`kubeconfig ${file} is not valid YAML`, cause);
  }
  return new KubeConfigAccess(kubeconfigCredentials(parsed, dirname(file)));
}
