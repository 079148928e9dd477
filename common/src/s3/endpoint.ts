// Where a request for (bucket, key) goes: path-style (`host/bucket/key`) or virtual-hosted (`bucket.host/key`), on a
// configured endpoint or AWS's regional one, as the AWS SDK resolves them for S3.

import { uriEncodePath } from './uri.ts';

export interface EndpointConfig {
  readonly region: string;
  /** `https://minio.example:9000`; default AWS's regional endpoint. */
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean | undefined;
}

export interface ResolvedTarget {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** The Host header (with the port when it is not the protocol's default). */
  readonly host: string;
  /** The encoded path (what is sent and signed). */
  readonly path: string;
}

export interface Endpoint {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  readonly pathStyle: boolean;
  /** Key of the shared connection pool (one per endpoint). */
  readonly poolKey: string;
}

/** AWS's regional endpoint for a region (China regions live under amazonaws.com.cn). */
export function awsEndpoint(region: string): string {
  return `https://s3.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** Parses the configuration once. Throws TypeError for an endpoint that is not an http(s) URL. */
export function resolveEndpoint(c: EndpointConfig): Endpoint {
  const url = new URL(c.endpoint ?? awsEndpoint(c.region));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`S3 endpoint must be http or https, got ${url.protocol}`);
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  // An IP address or `localhost` has no subdomains for a bucket.
  const noSubdomains = /^\[|^\d+\.\d+\.\d+\.\d+$|^localhost$/.test(url.hostname);
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    pathStyle: c.forcePathStyle === true || noSubdomains,
    poolKey: `${url.protocol}//${url.host}`,
  };
}

/** A bucket name usable as a DNS label over TLS (no dots: the wildcard certificate covers one level). */
function virtualHostable(bucket: string, protocol: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) && !(protocol === 'https:' && bucket.includes('.'));
}

/** The request target for an object (`key`) or the bucket itself (`key` undefined). */
export function target(e: Endpoint, bucket: string, key: string | undefined): ResolvedTarget {
  const defaultPort = e.protocol === 'https:' ? 443 : 80;
  const hostPart = e.hostname.includes(':') ? `[${e.hostname}]` : e.hostname;
  const objectPath = key === undefined ? '/' : `/${uriEncodePath(key)}`;
  if (e.pathStyle || !virtualHostable(bucket, e.protocol)) {
    const host = e.port === defaultPort ? hostPart : `${hostPart}:${e.port}`;
    const path = key === undefined ? `/${uriEncodePath(bucket)}/` : `/${uriEncodePath(bucket)}${objectPath}`;
    return { protocol: e.protocol, hostname: e.hostname, port: e.port, host, path };
  }
  const hostname = `${bucket}.${e.hostname}`;
  const host = e.port === defaultPort ? hostname : `${hostname}:${e.port}`;
  return { protocol: e.protocol, hostname, port: e.port, host, path: objectPath };
}
