// The sftp container's environment and the checksum that rolls the pods when what they read at start changes. Pure.
import { createHash } from 'node:crypto';
import type { V1EnvVar } from '@kubernetes/client-node';
import type { SftpServer } from '../../api/types.generated.ts';
import type { Placement } from '../placement.ts';
import { quantityToBytes } from '../quantity.ts';
import {
  childNames,
  HOST_KEY_DIR,
  type IamOutputs,
  METRICS_PORT,
  S3_CA_DIR,
  SHUTDOWN_GRACE_SECONDS,
  SSH_PORT,
  USER_CA_DIR,
  type WorkloadSettings,
} from './desired.ts';
import { notifyEnv } from './notifications.ts';

export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';

const env = (name: string, value: string | number | boolean | undefined): V1EnvVar[] =>
  value === undefined ? [] : [{ name, value: String(value) }];

/**
 * The sftp container's environment, exactly per docs/sftp-pod-config.md. Sizes are plain byte counts. Everything
 * about storage comes from the placement (the platform's profile plus the derived prefix); S3 credentials, when the
 * profile has static ones, from the server's copy of them by reference. `make demo` runs the pod with this env.
 */
export function podEnv(server: SftpServer, placement: Placement, iam?: IamOutputs): V1EnvVar[] {
  const s = server.spec;
  const names = childNames(server);
  const creds = placement.credentials ? names.credentials : undefined;
  const mode = placement.iam.mode;
  const sts = placement.iam.sts;
  const certs = s.security.userCertificates;
  return [
    ...env('SFTPGATE_LISTEN', `0.0.0.0:${SSH_PORT}`),
    ...env('SFTPGATE_METRICS_LISTEN', `0.0.0.0:${METRICS_PORT}`),
    ...env('SFTPGATE_HOST_KEY_DIR', HOST_KEY_DIR),
    ...env('SFTPGATE_USERS_SECRET', names.usersShard(0)),
    { name: 'SFTPGATE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ...env('SFTPGATE_S3_ENDPOINT', placement.endpoint),
    ...env('SFTPGATE_S3_REGION', placement.region),
    ...env('SFTPGATE_S3_BUCKET', placement.bucket),
    ...env('SFTPGATE_S3_PREFIX', placement.prefix),
    ...env('SFTPGATE_S3_FORCE_PATH_STYLE', placement.forcePathStyle),
    ...env('SFTPGATE_S3_STORAGE_CLASS', placement.storageClass),
    ...env('SFTPGATE_S3_SSE', placement.encryption?.type),
    ...env('SFTPGATE_S3_SSE_KMS_KEY_ID', placement.encryption?.kmsKeyId),
    // Node adds these to its root store for every TLS connection the pod makes (S3 and STS).
    ...env('NODE_EXTRA_CA_CERTS', placement.caBundle ? `${S3_CA_DIR}/ca.crt` : undefined),
    ...(creds
      ? [
          { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: creds, key: 'AWS_ACCESS_KEY_ID' } } },
          { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: creds, key: 'AWS_SECRET_ACCESS_KEY' } } },
        ]
      : []),
    ...env('SFTPGATE_IAM_MODE', mode),
    ...env('SFTPGATE_STS_ENDPOINT', mode === 'STS' ? sts?.endpoint : undefined),
    ...env('SFTPGATE_DATA_ROLE_ARN', mode === 'AWS' ? iam?.dataRoleArn : undefined),
    // STS parameters reach the pods (docs/iam.md): the role to assume, the STS region, the credential lifetime.
    ...env('SFTPGATE_STS_ROLE_ARN', mode === 'STS' ? sts?.roleArn : undefined),
    ...env('SFTPGATE_STS_REGION', mode === 'STS' ? sts?.region : undefined),
    ...env(
      'SFTPGATE_CREDENTIALS_DURATION',
      mode === 'STS' && sts?.durationSeconds !== undefined ? `${sts.durationSeconds}s` : undefined,
    ),
    ...env('SFTPGATE_PART_SIZE', quantityToBytes(s.transfer.partSize)),
    ...env('SFTPGATE_UPLOAD_CONCURRENCY', s.transfer.uploadConcurrency),
    ...env('SFTPGATE_DOWNLOAD_CONCURRENCY', s.transfer.downloadConcurrency),
    ...env('SFTPGATE_MEMORY_BUDGET', quantityToBytes(s.transfer.memoryBudget)),
    ...env('SFTPGATE_SETSTAT_MODE', s.sftp.setstatMode),
    ...env('SFTPGATE_IDLE_TIMEOUT', s.sftp.idleTimeout),
    ...env('SFTPGATE_MAX_SESSIONS_PER_USER', s.sftp.maxSessionsPerUser),
    ...env('SFTPGATE_ALGORITHMS', s.sftp.algorithms),
    ...env('SFTPGATE_BANNER', s.sftp.banner),
    ...env('SFTPGATE_DEFENDER', s.security.defender.enabled ? 'on' : 'off'),
    ...env('SFTPGATE_DEFENDER_THRESHOLD', s.security.defender.threshold),
    ...env('SFTPGATE_DEFENDER_OBSERVATION', s.security.defender.observationTime),
    ...env('SFTPGATE_DEFENDER_BAN_TIME', s.security.defender.banTime),
    ...env(
      'SFTPGATE_ALLOWED_CIDRS',
      s.security.allowedSourceCIDRs?.length ? s.security.allowedSourceCIDRs.join(',') : undefined,
    ),
    ...env(
      'SFTPGATE_PROXY_PROTOCOL_CIDRS',
      s.security.proxyProtocolCIDRs?.length ? s.security.proxyProtocolCIDRs.join(',') : undefined,
    ),
    // OpenSSH user certificates: files of the ConfigMap volume desired.ts mounts (the pod re-reads them every second).
    ...env('SFTPGATE_TRUSTED_USER_CA_KEYS', certs ? `${USER_CA_DIR}/${certs.caKey}` : undefined),
    ...env('SFTPGATE_REVOKED_USER_CERTIFICATES', certs ? `${USER_CA_DIR}/${certs.revokedKey}` : undefined),
    ...env('SFTPGATE_MAX_RENAME_OBJECTS', s.sftp.maxRenameObjects),
    // Only when on: servers without it keep their config checksum (no rollout on upgrade).
    ...env('SFTPGATE_UPLOAD_MD5', s.sftp.uploadMd5 ? 'true' : undefined),
    ...env('SFTPGATE_SHUTDOWN_GRACE', `${SHUTDOWN_GRACE_SECONDS}s`),
    ...env('SFTPGATE_LOG_LEVEL', 'info'),
    ...notifyEnv(server, placement),
  ];
}

/**
 * Content hash of everything a running pod reads only at start: image, env, and the host keys' content. The users
 * table is NOT in it (pods watch it live), so adding a user never restarts pods.
 */
export function configChecksum(
  server: SftpServer,
  placement: Placement,
  settings: WorkloadSettings,
  hostKeysDigest: string,
  iam?: IamOutputs,
): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ image: settings.image, env: podEnv(server, placement, iam), hostKeys: hostKeysDigest }));
  return h.digest('hex');
}

/** Digest of a host-keys Secret's data (sorted keys), for the config checksum. */
export function secretDataDigest(data: Record<string, string> | undefined): string {
  const h = createHash('sha256');
  for (const k of Object.keys(data ?? {}).sort())
    h.update(k)
      .update('\0')
      .update(data?.[k] ?? '')
      .update('\0');
  return h.digest('hex');
}
