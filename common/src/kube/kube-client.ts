// A small, typed HTTP client for the Kubernetes API; where the server is and how to authenticate come from a
// KubeAccess (kube-config.ts: kubeconfig files, in-cluster config, tokens). We issue requests ourselves because (1)
// the watch loop needs full control (client-node's Watch has a fixed 30 s inactivity timeout and its ListWatch stops
// on any non-410 error), (2) every request passes one place that counts it (metrics and the "zero writes on a second
// reconcile" tests), and (3) server-side apply and the status subresource are one generic call for every kind.
import http from 'node:http';
import https from 'node:https';
import { ApiError, KubeError, KubeErrorCode } from './errors.ts';
import type { KubeAccess } from './kube-config.ts';
import {
  apiVersionOf,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type ResourceType,
  type WatchEvent,
  type WatchOptions,
} from './types.ts';
import { watchEvents } from './watch-stream.ts';

export {
  apiVersionOf,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type OwnerReference,
  Resources,
  type ResourceType,
  type WatchEvent,
  type WatchEventType,
  type WatchOptions,
} from './types.ts';

/** Called once per request, after the response status is known (0 when no response arrived). */
export type RequestHook = (verb: string, resource: string, status: number) => void;

export interface KubeClientOptions {
  /** Timeout of non-watch requests. */
  requestTimeoutMs?: number;
  onRequest?: RequestHook;
  userAgent?: string;
  /** The field manager of server-side apply; one per program (the operator's is `sftpgate-operator`). */
  fieldManager?: string;
}

interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal | undefined;
  /** verb label for counting; defaults to the HTTP method in lower case. */
  verb?: string;
  resource?: string;
}

const writeVerbs = new Set(['create', 'update', 'patch', 'apply', 'delete']);

/**
 * Typed access to the API server. Methods throw ApiError for error statuses (helpers in errors.ts classify them) and
 * KubeError(ApiUnavailable) when no response arrives; every call takes an optional AbortSignal.
 */
export class KubeClient {
  readonly kubeConfig: KubeAccess;
  readonly #server: URL;
  readonly #timeoutMs: number;
  readonly #hooks: RequestHook[] = [];
  readonly #userAgent: string;
  readonly #fieldManager: string;
  #agent: http.Agent | undefined;
  /** Requests made so far by `${verb} ${resource}`; tests use it to assert "no writes". */
  readonly counts = new Map<string, number>();

  constructor(kubeConfig: KubeAccess, options: KubeClientOptions = {}) {
    this.kubeConfig = kubeConfig;
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new KubeError(KubeErrorCode.ApiUnavailable, 'kubeconfig has no current cluster');
    this.#server = new URL(cluster.server);
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? 'sftpgate';
    this.#fieldManager = options.fieldManager ?? 'sftpgate';
    if (options.onRequest !== undefined) this.#hooks.push(options.onRequest);
  }

  /** Adds a per-request hook (metrics, test counters). */
  onRequest(hook: RequestHook): void {
    this.#hooks.push(hook);
  }

  /** Number of write requests (create, update, patch, apply, delete) made so far. */
  writeCount(): number {
    let total = 0;
    for (const [key, n] of this.counts) if (writeVerbs.has(key.split(' ')[0] ?? '')) total += n;
    return total;
  }

  path(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    let path = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
    if (type.namespaced !== false && namespace !== undefined) path += `/namespaces/${encodeURIComponent(namespace)}`;
    path += `/${type.plural}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    if (subresource !== undefined) path += `/${subresource}`;
    return path;
  }

  async get<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.request<T>('GET', this.path(type, namespace, name), { signal, verb: 'get', resource: type.plural });
  }

  /** Like get, but resolves undefined on 404. */
  async getOptional<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(type, namespace, name, signal);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** One page of a list; `namespace` undefined lists across namespaces. */
  async list<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions = {},
    signal?: AbortSignal,
  ): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>('GET', this.path(type, namespace), {
      query: { ...options },
      signal,
      verb: 'list',
      resource: type.plural,
    });
  }

  /** Every page of a list, following `continue`; resourceVersion is the first page's (a consistent snapshot). */
  async listAll<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    options: Omit<ListOptions, 'continue'> = {},
    signal?: AbortSignal,
  ): Promise<ObjectList<T>> {
    const items: T[] = [];
    let page = await this.list<T>(type, namespace, { limit: 500, ...options }, signal);
    const resourceVersion = page.metadata.resourceVersion;
    items.push(...page.items);
    while (page.metadata.continue) {
      page = await this.list<T>(type, namespace, { limit: 500, ...options, continue: page.metadata.continue }, signal);
      items.push(...page.items);
    }
    return { metadata: resourceVersion === undefined ? {} : { resourceVersion }, items };
  }

  async create<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    object: T,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.request<T>('POST', this.path(type, namespace), {
      body: object,
      signal,
      verb: 'create',
      resource: type.plural,
    });
  }

  /** PUT; object.metadata.resourceVersion makes it a compare-and-swap (409 on conflict). */
  async replace<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    object: T,
    options: { subresource?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.request<T>('PUT', this.path(type, namespace, name, options.subresource), {
      body: object,
      signal: options.signal,
      verb: 'update',
      resource: resourceLabel(type, options.subresource),
    });
  }

  /** JSON merge patch (RFC 7386), optionally on a subresource such as status. */
  async mergePatch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    options: { subresource?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', this.path(type, namespace, name, options.subresource), {
      body: patch,
      contentType: 'application/merge-patch+json',
      signal: options.signal,
      verb: 'patch',
      resource: resourceLabel(type, options.subresource),
    });
  }

  /** JSON patch (RFC 6902); use a `test` op for compare-and-swap on a field. */
  async jsonPatch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    operations: unknown[],
    options: { subresource?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', this.path(type, namespace, name, options.subresource), {
      body: operations,
      contentType: 'application/json-patch+json',
      signal: options.signal,
      verb: 'patch',
      resource: resourceLabel(type, options.subresource),
    });
  }

  /**
   * Server-side apply with the client's single field manager (options.fieldManager), forcing ownership of the fields
   * we set. Idempotent: applying the same object again changes nothing (the API server keeps the resourceVersion).
   * `object` must carry apiVersion, kind, metadata.name (and namespace for namespaced types).
   */
  async apply<T extends KubeObject = KubeObject>(
    type: ResourceType,
    object: KubeObject & { [field: string]: unknown },
    options: { subresource?: string; signal?: AbortSignal; force?: boolean } = {},
  ): Promise<T> {
    const name = object.metadata?.name;
    if (name === undefined) throw new TypeError('apply: metadata.name is required');
    const body = { ...object, apiVersion: object.apiVersion ?? apiVersionOf(type), kind: object.kind ?? type.kind };
    return this.request<T>('PATCH', this.path(type, object.metadata?.namespace, name, options.subresource), {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: this.#fieldManager, force: options.force ?? true },
      signal: options.signal,
      verb: 'apply',
      resource: resourceLabel(type, options.subresource),
    });
  }

  /**
   * Deletes; resolves false when the object was already gone. `preconditions` guards against deleting a newer
   * object of the same name (uid) or a changed one (resourceVersion).
   */
  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: {
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      preconditions?: { uid?: string; resourceVersion?: string };
      signal?: AbortSignal;
    } = {},
  ): Promise<boolean> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (options.propagationPolicy !== undefined) body['propagationPolicy'] = options.propagationPolicy;
    if (options.preconditions !== undefined) body['preconditions'] = options.preconditions;
    try {
      await this.request('DELETE', this.path(type, namespace, name), {
        body,
        signal: options.signal,
        verb: 'delete',
        resource: type.plural,
      });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }

  /**
   * Opens a watch and yields its events until the server ends it, `signal` aborts (then it returns quietly) or the
   * connection breaks (throws). An ERROR event is thrown as ApiError (410 Gone: the resourceVersion expired).
   */
  async *watch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const path = this.path(type, namespace);
    const query = { ...options, watch: true, allowWatchBookmarks: true };
    const response = await this.#send('GET', path, { query, signal, verb: 'watch', resource: type.plural });
    yield* watchEvents<T>(response, path, signal);
  }

  /** Raw request; parses the JSON answer. Throws ApiError on statuses >= 400. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const response = await this.#send(method, path, { ...options, signal });
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    const verb = options.verb ?? method.toLowerCase();
    const resource = options.resource ?? path;
    const url = new URL(this.#server.pathname.replace(/\/$/, '') + path, this.#server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const requestOptions: https.RequestOptions = { method, headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(requestOptions);
    const headers = requestOptions.headers as Record<string, string>;
    headers['Accept'] = 'application/json';
    headers['User-Agent'] = this.#userAgent;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    requestOptions.agent = this.#agentFor(requestOptions);
    const key = `${verb} ${resource}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const transport = url.protocol === 'https:' ? https : http;
    let response: http.IncomingMessage;
    try {
      response = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = transport.request(url, { ...requestOptions, signal: options.signal }, resolve);
        req.on('error', reject);
        req.end(payload);
      });
    } catch (err) {
      this.#notify(verb, resource, 0);
      if (options.signal?.aborted === true) {
        throw new KubeError(KubeErrorCode.Aborted, `${verb} ${path}: aborted`, { cause: err });
      }
      throw new KubeError(KubeErrorCode.ApiUnavailable, `${verb} ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const status = response.statusCode ?? 0;
    this.#notify(verb, resource, status);
    if (status >= 400) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let reason = 'Unknown';
      let message = text.slice(0, 2000);
      try {
        const parsed = JSON.parse(text) as { reason?: string; message?: string };
        reason = parsed.reason ?? reason;
        message = parsed.message ?? message;
      } catch {
        // not a Status object (a proxy's HTML page): keep the raw text
      }
      throw new ApiError(status, reason, message, verb, path);
    }
    return response;
  }

  #notify(verb: string, resource: string, status: number): void {
    for (const hook of this.#hooks) hook(verb, resource, status);
  }

  // One keep-alive agent per client: client-node builds a fresh agent per call, which would open a TLS connection
  // per request. Credentials (ca/cert/key) are fixed for the life of a kubeconfig; tokens travel in headers.
  #agentFor(options: https.RequestOptions): http.Agent {
    if (this.#agent === undefined) {
      const common = { keepAlive: true, maxSockets: 64 };
      this.#agent =
        this.#server.protocol === 'https:'
          ? new https.Agent({
              ...common,
              ...(options.ca !== undefined && { ca: options.ca }),
              ...(options.cert !== undefined && { cert: options.cert }),
              ...(options.key !== undefined && { key: options.key }),
              ...(options.rejectUnauthorized !== undefined && { rejectUnauthorized: options.rejectUnauthorized }),
              ...(options.servername !== undefined && { servername: options.servername }),
            })
          : new http.Agent(common);
    }
    return this.#agent;
  }

  /** Closes idle keep-alive connections (call on shutdown). */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}

function resourceLabel(type: ResourceType, subresource: string | undefined): string {
  return subresource === undefined ? type.plural : `${type.plural}/${subresource}`;
}
