// A recording HTTP proxy in front of MinIO's S3 and STS API: it forwards every request unchanged (SigV4 stays valid,
// as in fault-proxy.ts) and records, for each call, WHO signed it (the access key id), WHICH operation it was, and
// the IAM authorisation questions that operation asks (action, resource ARN, condition keys) per AWS's "actions
// defined by Amazon S3" / STS tables. It also reads AssumeRole answers, so a temporary access key maps back to the
// key that minted it and the session policy it carries. Tests point every component at it and check each recorded
// call against the policy that component holds (operator/src/cloud/iam/policy-evaluator.ts): a new S3 call in any
// component is then checked without touching the test. An operation it cannot map is recorded as `Unknown ...` with
// no questions, which such a test must treat as a failure.

import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { PolicyRequest } from '../../operator/src/cloud/iam/policy-evaluator.ts';
import { listenOnLoopback } from './loopback-server.ts';

export interface RecordedCall {
  /** Access key id of the signature ('' when unsigned). */
  readonly accessKeyId: string;
  readonly service: 's3' | 'sts' | 'iam';
  /** S3/STS/IAM operation name, or `Unknown <method> <what>`. */
  readonly operation: string;
  /** What IAM authorises for this call (several for a copy or a multi-object delete). */
  readonly requests: readonly PolicyRequest[];
  readonly method: string;
  readonly url: string;
  /** The status MinIO answered. */
  readonly status: number;
  /** STS: the form parameters sent (RoleArn, DurationSeconds, Policy, ...). */
  readonly parameters?: Readonly<Record<string, string>>;
}

export interface AssumedSession {
  readonly accessKeyId: string;
  /** The key that called AssumeRole. */
  readonly parentAccessKeyId: string;
  /** The session policy sent with AssumeRole, if any. */
  readonly policy?: string;
}

export interface AwsRecorder {
  /** http://127.0.0.1:<port>: use as the S3 endpoint (path style) and the STS endpoint. */
  readonly url: string;
  readonly calls: readonly RecordedCall[];
  /** Temporary access key id → how it was minted. */
  readonly sessions: ReadonlyMap<string, AssumedSession>;
  /** Forgets the recorded calls (sessions are kept: their keys stay in use). */
  reset(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect']);
/** Sub-resources this map does not cover: a call using one is recorded as Unknown. */
const UNMAPPED_SUBRESOURCES = [
  'acl',
  'tagging',
  'policy',
  'cors',
  'website',
  'replication',
  'encryption',
  'object-lock',
  'retention',
  'legal-hold',
  'restore',
  'select',
  'attributes',
  'notification',
  'logging',
  'accelerate',
  'ownershipControls',
  'publicAccessBlock',
];

const xmlText = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');

/** The SigV4 credential scope's service (`s3`, `sts`, `iam`, ...), '' when unsigned. */
function signedService(headers: IncomingMessage['headers'], q: URLSearchParams): string {
  const scope = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(headers.authorization ?? '')?.[1];
  return scope ?? /^[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(q.get('X-Amz-Credential') ?? '')?.[1] ?? '';
}

/** What the recorder knows of IAM roles from the successful calls it forwarded (for aws:ResourceTag). */
export interface IamState {
  readonly accountId: string;
  readonly roles: Map<string, { path: string; tags: Record<string, string> }>;
}

/** `Tags.member.N.Key/Value` (and `TagKeys.member.N`) of an IAM form. */
function formTags(form: URLSearchParams): { tags: Record<string, string>; keys: string[] } {
  const tags: Record<string, string> = {};
  for (const [k, v] of form) {
    const m = /^Tags\.member\.(\d+)\.Key$/.exec(k);
    if (m) tags[v] = form.get(`Tags.member.${m[1]}.Value`) ?? '';
  }
  const keys = [...form].filter(([k]) => /^TagKeys\.member\.\d+$/.test(k)).map(([, v]) => v);
  return { tags, keys: keys.length > 0 ? keys : Object.keys(tags) };
}

/** The IAM questions of one IAM API call (form body), with tag condition keys from the call and from `state`. */
export function describeIamRequest(form: URLSearchParams, state: IamState): PolicyRequest[] {
  const action = form.get('Action') ?? 'Unknown';
  const name = form.get('RoleName') ?? '';
  const known = state.roles.get(name);
  const path = form.get('Path') ?? known?.path ?? '/';
  const resource = name === '' ? '*' : `arn:aws:iam::${state.accountId}:role${path}${name}`;
  const context: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(action === 'CreateRole' ? {} : (known?.tags ?? {}))) {
    context[`aws:ResourceTag/${k}`] = v;
  }
  if (['CreateRole', 'TagRole', 'UntagRole'].includes(action)) {
    const { tags, keys } = formTags(form);
    for (const [k, v] of Object.entries(tags)) context[`aws:RequestTag/${k}`] = v;
    context['aws:TagKeys'] = keys;
  }
  const requests: PolicyRequest[] = [{ action: `iam:${action}`, resource, context }];
  // CreateRole with tags is also authorised as TagRole.
  if (action === 'CreateRole' && form.has('Tags.member.1.Key'))
    requests.push({ action: 'iam:TagRole', resource, context });
  return requests;
}

/** Keeps `state` in step with a successful IAM call. */
function applyIamCall(form: URLSearchParams, state: IamState): void {
  const action = form.get('Action');
  const name = form.get('RoleName') ?? '';
  const role = state.roles.get(name);
  const { tags, keys } = formTags(form);
  if (action === 'CreateRole') state.roles.set(name, { path: form.get('Path') ?? '/', tags });
  else if (action === 'TagRole' && role) Object.assign(role.tags, tags);
  else if (action === 'UntagRole' && role) for (const k of keys) delete role.tags[k];
  else if (action === 'DeleteRole') state.roles.delete(name);
}

function accessKeyOf(headers: IncomingMessage['headers'], q: URLSearchParams): string {
  const auth = headers.authorization ?? '';
  const m = /Credential=([^/,\s]+)\//.exec(auth) ?? /^([^/]+)\//.exec(q.get('X-Amz-Credential') ?? '');
  return m?.[1] ?? '';
}

/**
 * The operation and IAM questions of one path-style S3 or STS request. Pure. `body` is needed only for
 * DeleteObjects (the keys) and STS (the form); pass what was sent.
 */
export function describeAwsRequest(
  method: string,
  rawUrl: string,
  headers: IncomingMessage['headers'],
  body: Buffer | undefined,
  partition = 'aws',
): {
  service: 's3' | 'sts';
  operation: string;
  requests: PolicyRequest[];
  parameters?: Record<string, string>;
} {
  const u = new URL(rawUrl, 'http://recorder');
  const q = u.searchParams;
  const path = decodeURIComponent(u.pathname.slice(1));
  const slash = path.indexOf('/');
  const bucket = slash < 0 ? path : path.slice(0, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  if (bucket === '' && method === 'POST') {
    const form = new URLSearchParams(body?.toString('utf8') ?? '');
    const action = form.get('Action') ?? 'Unknown';
    const resource = form.get('RoleArn') ?? '*';
    const requests: PolicyRequest[] = [{ action: `sts:${action}`, resource }];
    if (form.get('SourceIdentity')) requests.push({ action: 'sts:SetSourceIdentity', resource });
    return { service: 'sts', operation: action, requests, parameters: Object.fromEntries(form) };
  }
  const bucketArn = `arn:${partition}:s3:::${bucket}`;
  const objectArn = (k: string) => `${bucketArn}/${k}`;
  const s3 = (operation: string, ...requests: PolicyRequest[]) => ({ service: 's3' as const, operation, requests });
  const unknown = (what: string) => s3(`Unknown ${method} ${what}`);
  // Object tagging (GET/PUT `?tagging` on a key) is mapped below; bucket tagging is not.
  const unmapped = UNMAPPED_SUBRESOURCES.find(
    (r) => q.has(r) && !(r === 'tagging' && key !== '' && method !== 'DELETE'),
  );
  if (unmapped) return unknown(`?${unmapped}`);
  const prefixContext = () => (q.has('prefix') ? { 's3:prefix': q.get('prefix') ?? '' } : {});

  if (key === '') {
    const onBucket = (operation: string, action: string, context: Record<string, string> = {}) =>
      s3(operation, { action, resource: bucketArn, context });
    switch (method) {
      case 'HEAD':
        return onBucket('HeadBucket', 's3:ListBucket');
      case 'GET':
        if (q.has('versioning')) return onBucket('GetBucketVersioning', 's3:GetBucketVersioning');
        if (q.has('lifecycle')) return onBucket('GetBucketLifecycleConfiguration', 's3:GetLifecycleConfiguration');
        if (q.has('versions')) return onBucket('ListObjectVersions', 's3:ListBucketVersions', prefixContext());
        if (q.has('uploads')) return onBucket('ListMultipartUploads', 's3:ListBucketMultipartUploads', prefixContext());
        if (q.has('location')) return onBucket('GetBucketLocation', 's3:GetBucketLocation');
        if (q.get('list-type') === '2') return onBucket('ListObjectsV2', 's3:ListBucket', prefixContext());
        return onBucket('ListObjects', 's3:ListBucket', prefixContext());
      case 'PUT':
        if (q.has('lifecycle')) return onBucket('PutBucketLifecycleConfiguration', 's3:PutLifecycleConfiguration');
        if (q.has('versioning')) return onBucket('PutBucketVersioning', 's3:PutBucketVersioning');
        return onBucket('CreateBucket', 's3:CreateBucket');
      case 'DELETE':
        if (q.has('lifecycle')) return onBucket('DeleteBucketLifecycle', 's3:PutLifecycleConfiguration');
        return onBucket('DeleteBucket', 's3:DeleteBucket');
      case 'POST': {
        if (!q.has('delete')) return unknown('bucket');
        const objects = [...(body?.toString('utf8') ?? '').matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map((m) => ({
          key: xmlText(/<Key>([\s\S]*?)<\/Key>/.exec(m[1] ?? '')?.[1] ?? ''),
          version: /<VersionId>([\s\S]*?)<\/VersionId>/.exec(m[1] ?? '')?.[1],
        }));
        return s3(
          'DeleteObjects',
          ...objects.map((o) => ({
            action: o.version ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
            resource: objectArn(o.key),
          })),
        );
      }
      default:
        return unknown('bucket');
    }
  }

  const onObject = (operation: string, action: string) => s3(operation, { action, resource: objectArn(key) });
  const copyHeader = headers['x-amz-copy-source'];
  const copySource = (): PolicyRequest[] => {
    if (copyHeader === undefined) return [];
    const raw = decodeURIComponent(String(copyHeader)).replace(/^\//, '');
    const [src = '', query = ''] = raw.split('?');
    const version = new URLSearchParams(query).has('versionId');
    return [{ action: version ? 's3:GetObjectVersion' : 's3:GetObject', resource: `arn:${partition}:s3:::${src}` }];
  };
  switch (method) {
    case 'GET':
      if (q.has('tagging')) return onObject('GetObjectTagging', 's3:GetObjectTagging');
      if (q.has('uploadId')) return onObject('ListParts', 's3:ListMultipartUploadParts');
      return onObject('GetObject', q.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject');
    case 'HEAD':
      return onObject('HeadObject', q.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject');
    case 'PUT': {
      if (q.has('tagging')) return onObject('PutObjectTagging', 's3:PutObjectTagging');
      const op = q.has('uploadId')
        ? copyHeader
          ? 'UploadPartCopy'
          : 'UploadPart'
        : copyHeader
          ? 'CopyObject'
          : 'PutObject';
      return s3(op, { action: 's3:PutObject', resource: objectArn(key) }, ...copySource());
    }
    case 'POST':
      if (q.has('uploads')) {
        // Tags given at creation (x-amz-tagging: a multipart copy of a tagged object) need PutObjectTagging too.
        const tagged =
          headers['x-amz-tagging'] === undefined ? [] : [{ action: 's3:PutObjectTagging', resource: objectArn(key) }];
        return s3('CreateMultipartUpload', { action: 's3:PutObject', resource: objectArn(key) }, ...tagged);
      }
      if (q.has('uploadId')) return onObject('CompleteMultipartUpload', 's3:PutObject');
      return unknown('object');
    case 'DELETE':
      if (q.has('uploadId')) return onObject('AbortMultipartUpload', 's3:AbortMultipartUpload');
      return onObject('DeleteObject', q.has('versionId') ? 's3:DeleteObjectVersion' : 's3:DeleteObject');
    default:
      return unknown('object');
  }
}

/** Starts the recorder on a random loopback port in front of `target` (e.g. minio.endpoint). */
export async function startAwsRecorder(target: string, opts: { iamAccountId?: string } = {}): Promise<AwsRecorder> {
  const upstream = new URL(target);
  const iamState: IamState = { accountId: opts.iamAccountId ?? '000000000000', roles: new Map() };
  const calls: RecordedCall[] = [];
  const sessions = new Map<string, AssumedSession>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = new URL(url, 'http://recorder').searchParams;
    // Only small bodies matter to the map (STS forms, DeleteObjects lists); large ones are streamed through.
    const needsBody = method === 'POST' && (url === '/' || url.startsWith('/?') || q.has('delete'));
    const body = needsBody ? Buffer.concat(await req.toArray()) : undefined;
    const iamCall = signedService(req.headers, q) === 'iam';
    const form = new URLSearchParams(body?.toString('utf8') ?? '');
    const described = iamCall
      ? {
          service: 'iam' as const,
          operation: form.get('Action') ?? 'Unknown',
          requests: describeIamRequest(form, iamState),
        }
      : describeAwsRequest(method, url, req.headers, body);
    const accessKeyId = accessKeyOf(req.headers, q);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, method, path: url, headers });
    up.on('response', (upRes) => {
      const status = upRes.statusCode ?? 502;
      calls.push({ accessKeyId, ...described, method, url, status });
      if (iamCall && status >= 200 && status < 300) applyIamCall(form, iamState);
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upRes.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      }
      res.writeHead(status, out);
      if (described.service !== 'sts') {
        upRes.pipe(res);
        return;
      }
      void upRes.toArray().then((chunks) => {
        const answer = Buffer.concat(chunks as Buffer[]);
        const temp = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(answer.toString('utf8'))?.[1];
        if (temp) {
          const policy = new URLSearchParams(body?.toString('utf8') ?? '').get('Policy') ?? undefined;
          sessions.set(temp, { accessKeyId: temp, parentAccessKeyId: accessKeyId, ...(policy ? { policy } : {}) });
        }
        res.end(answer);
      });
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    if (body) up.end(body);
    else req.pipe(up);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const listening = await listenOnLoopback(server, 'aws recorder');
  return {
    url: listening.url,
    calls,
    sessions,
    reset() {
      calls.length = 0;
    },
    close: listening.close,
  };
}
