// MinIO for tests: one single-drive server per call, on a random loopback port, with a fresh data dir and random
// root credentials. Single-drive MinIO supports versioning, lifecycle configuration, multipart uploads and STS
// AssumeRole with an inline session policy (called with the root credentials) — see docs/testbed.md.

import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { abortedError } from './errors.ts';
import { httpGet } from './http.ts';
import { createCa, issueCert } from './pki.ts';
import { releasePorts, reservePorts, retryOnPortClash } from './ports.ts';
import {
  type ManagedProcess,
  makeTempDir,
  removeTempDir,
  spawnManaged,
  stopOnAbort,
  tailFile,
  waitUntil,
} from './process.ts';
import { toolPath } from './tools.ts';

export interface StartMinioOptions {
  /** Stops the server when it fires (during startup: startup fails with Aborted). */
  readonly signal?: AbortSignal;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default 60 s (generous: a loaded 2-core CI machine). */
  readonly startupTimeoutMs?: number;
  /** Listen address (default 127.0.0.1); the test cluster passes its host address so pods reach MinIO. */
  readonly address?: string;
  /**
   * Serve S3 over HTTPS with a certificate from a fresh CA (test/infra/pki.ts), as production S3 is; the CA is
   * `Minio.caPath`, and this launcher's own clients and readiness check trust it.
   */
  readonly tls?: boolean;
}

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface Minio {
  /** http://127.0.0.1:<port> (https:// with `tls`) — S3 and STS API. */
  readonly endpoint: string;
  /** The CA (PEM file) that signed the server certificate; only with `tls`. */
  readonly caPath?: string;
  readonly region: string;
  /** Root credentials (may call AssumeRole). */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** A path-style S3 client; root credentials unless others are given. Destroyed by stop(). */
  s3(credentials?: S3Credentials): S3Client;
  /** An STS client with the root credentials (AssumeRole with an inline Policy works). Destroyed by stop(). */
  sts(): STSClient;
  /** Creates a bucket; versioning: true enables versioning on it right away. */
  createBucket(name: string, opts?: { readonly versioning?: boolean }): Promise<void>;
  /** Stops the server and removes its data. Idempotent. */
  stop(): Promise<void>;
}

/** Starts MinIO and resolves once /minio/health/ready answers 200. Throws TestbedError (ToolMissing, Startup...). */
export async function startMinio(opts: StartMinioOptions = {}): Promise<Minio> {
  const binary = toolPath('minio');
  return retryOnPortClash(() => startOnce(binary, opts));
}

async function startOnce(binary: string, opts: StartMinioOptions): Promise<Minio> {
  if (opts.signal?.aborted) throw abortedError('start minio', opts.signal);
  const region = opts.region ?? 'us-east-1';
  const tmp = makeTempDir('minio');
  const dataDir = join(tmp, 'data');
  const logFile = join(tmp, 'minio.log');
  const [port] = await reservePorts(1);
  if (port === undefined) throw new Error('unreachable: reservePorts(1) returned nothing');
  const address = opts.address ?? '127.0.0.1';
  const caPath = opts.tls ? await serverCertificate(tmp, address, opts.signal) : undefined;
  const ca = caPath === undefined ? undefined : readFileSync(caPath);
  const endpoint = `${ca ? 'https' : 'http'}://${address}:${port}`;
  // Options rather than a handler instance: each client builds (and destroys) its own.
  const requestHandler = ca ? { httpsAgent: new Agent({ ca }) } : undefined;
  const accessKeyId = `root${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(18).toString('base64url');
  const proc: ManagedProcess = spawnManaged({
    name: 'minio',
    command: binary,
    args: ['server', dataDir, '--address', `${address}:${port}`, '--certs-dir', join(tmp, 'certs'), '--quiet'],
    env: {
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_SITE_REGION: region,
      // No web console (it would want a second port), no update checks, no phoning home.
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
      // Request metrics readable without a token (loopback only): the benchmarks count S3 requests as MinIO sees them.
      MINIO_PROMETHEUS_AUTH_TYPE: 'public',
    },
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
      `minio on ${endpoint}`,
      async (signal) =>
        (await httpGet(`${endpoint}/minio/health/ready`, { signal, ...(ca ? { tls: { ca } } : {}) })).status === 200,
      { timeoutMs: opts.startupTimeoutMs ?? 60_000, signal: opts.signal, process: proc },
    );
  } catch (err) {
    const log = tailFile(logFile, 200);
    await stop();
    if (log.includes('address already in use')) throw new Error('minio: address already in use', { cause: err });
    throw err;
  }

  let rootClient: S3Client | undefined;
  const minio: Minio = {
    endpoint,
    ...(caPath ? { caPath } : {}),
    region,
    accessKeyId,
    secretAccessKey,
    dataDir,
    logFile,
    s3(credentials) {
      const client = new S3Client({
        endpoint,
        region,
        forcePathStyle: true,
        credentials: credentials ?? { accessKeyId, secretAccessKey },
        ...(requestHandler ? { requestHandler } : {}),
      });
      clients.push(client);
      return client;
    },
    sts() {
      const client = new STSClient({
        endpoint,
        region,
        credentials: { accessKeyId, secretAccessKey },
        ...(requestHandler ? { requestHandler } : {}),
      });
      clients.push(client);
      return client;
    },
    async createBucket(name, bucketOpts = {}) {
      rootClient ??= minio.s3();
      const s3 = rootClient;
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      if (bucketOpts.versioning) {
        await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
      }
    },
    stop,
  };
  return minio;
}

/** MinIO reads `<certs-dir>/public.crt` and `private.key`: issues them for `address` from a new CA, returns the CA. */
async function serverCertificate(tmp: string, address: string, signal?: AbortSignal): Promise<string> {
  const pki = join(tmp, 'pki');
  const certs = join(tmp, 'certs');
  mkdirSync(pki, { recursive: true });
  mkdirSync(certs, { recursive: true });
  const ca = await createCa(pki, 'minio test CA', signal);
  const san = /^[\d.]+$/.test(address) ? `IP:${address}` : `DNS:${address}`;
  const leaf = await issueCert(
    pki,
    ca,
    { name: 'minio', commonName: address, subjectAltNames: [san], usage: 'server' },
    signal,
  );
  copyFileSync(leaf.certPath, join(certs, 'public.crt'));
  copyFileSync(leaf.keyPath, join(certs, 'private.key'));
  return ca.certPath;
}
