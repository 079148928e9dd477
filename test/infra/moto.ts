// moto's server for the AWS IAM and STS APIs: one per call, on a random loopback port, with fresh in-memory state.
// moto accepts any credentials and signs nothing; it checks request shapes and keeps IAM state, which is what the
// IAM policy manager's tests need (AWS-side enforcement of policies is out of its scope — MinIO covers that for S3).

import { join } from 'node:path';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { abortedError } from './errors.ts';
import { httpGet } from './http.ts';
import { releasePorts, reservePorts, retryOnPortClash } from './ports.ts';
import { makeTempDir, removeTempDir, spawnManaged, stopOnAbort, tailFile, waitUntil } from './process.ts';
import { toolPath } from './tools.ts';

export interface StartMotoOptions {
  readonly signal?: AbortSignal;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default 60 s. */
  readonly startupTimeoutMs?: number;
}

export interface Moto {
  /** http://127.0.0.1:<port> — every AWS service moto emulates, IAM and STS included. */
  readonly endpoint: string;
  readonly region: string;
  /** moto's fixed account id. */
  readonly accountId: string;
  /** Any value works; these are what iam()/sts() use. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly logFile: string;
  /** Clients pointed at this server; destroyed by stop(). */
  iam(): IAMClient;
  sts(): STSClient;
  /** Forgets all state (POST /moto-api/reset). */
  reset(signal?: AbortSignal): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Starts moto_server and resolves once it answers. Throws TestbedError (ToolMissing, StartupTimeout, ...). */
export async function startMoto(opts: StartMotoOptions = {}): Promise<Moto> {
  const binary = toolPath('moto_server');
  return retryOnPortClash(() => startOnce(binary, opts));
}

async function startOnce(binary: string, opts: StartMotoOptions): Promise<Moto> {
  if (opts.signal?.aborted) throw abortedError('start moto', opts.signal);
  const region = opts.region ?? 'us-east-1';
  const tmp = makeTempDir('moto');
  const logFile = join(tmp, 'moto.log');
  const [port] = await reservePorts(1);
  if (port === undefined) throw new Error('unreachable: reservePorts(1) returned nothing');
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = spawnManaged({
    name: 'moto',
    command: binary,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    // Unbuffered, so the log tail in a startup error is current.
    env: { PYTHONUNBUFFERED: '1', AWS_DEFAULT_REGION: region },
    logFile,
  });
  const clients: Array<{ destroy(): void }> = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      detach();
      for (const c of clients) c.destroy();
      await proc.stop();
      releasePorts([port]);
      removeTempDir(tmp);
    })();
    return stopped;
  };
  const detach = stopOnAbort(opts.signal, stop);
  try {
    await waitUntil(
      `moto on ${endpoint}`,
      async (signal) => (await httpGet(`${endpoint}/moto-api/data.json`, { signal })).status === 200,
      { timeoutMs: opts.startupTimeoutMs ?? 60_000, signal: opts.signal, process: proc },
    );
  } catch (err) {
    const log = tailFile(logFile, 200);
    await stop();
    if (/address already in use/i.test(log)) throw new Error('moto: address already in use', { cause: err });
    throw err;
  }
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  return {
    endpoint,
    region,
    accountId: '123456789012',
    credentials,
    logFile,
    iam() {
      const c = new IAMClient({ endpoint, region, credentials });
      clients.push(c);
      return c;
    },
    sts() {
      const c = new STSClient({ endpoint, region, credentials });
      clients.push(c);
      return c;
    },
    async reset(signal) {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST', ...(signal ? { signal } : {}) });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`moto reset: HTTP ${res.status}`);
    },
    stop,
  };
}
