// A session over an in-memory duplex pair with MemoryStorage, for the SFTP layer's unit tests.
import { duplexPair } from 'node:stream';
import { PERMISSIONS, type Permission } from '../../../../common/src/users/permission.ts';
import { createPathJail, type JailUser } from '../../storage/jail.ts';
import type { UnsafeNames } from '../names.ts';
import { type SftpMetrics, SftpSession, type SftpSessionOptions } from '../session.ts';
import { TestSftpClient } from './client.ts';
import { MemoryStorage } from './memory-storage.ts';

export const ALL: Permission[] = [...PERMISSIONS];

export interface StartOptions {
  permissions?: Permission[];
  /** Default: `/ro` read-only (list, download). */
  directoryPermissions?: JailUser['directoryPermissions'];
  logicalDirectories?: JailUser['logicalDirectories'];
  maxHandles?: number;
  storage?: MemoryStorage;
  setstatMode?: 'Error' | 'Ignore';
  unsafeNames?: UnsafeNames;
  metrics?: SftpMetrics;
  audit?: SftpSessionOptions['audit'];
}

/** User `alice` under server prefix `srv` (keys `srv/alice/...`). */
export function startSession(options: StartOptions = {}) {
  const storage = options.storage ?? new MemoryStorage();
  const [ours, theirs] = duplexPair();
  const jail = createPathJail('srv', {
    home: 'alice',
    permissions: options.permissions ?? ALL,
    directoryPermissions: options.directoryPermissions ?? [{ path: '/ro', permissions: ['list', 'download'] }],
    ...(options.logicalDirectories ? { logicalDirectories: options.logicalDirectories } : {}),
  });
  const session = new SftpSession(ours, {
    storage,
    jail,
    username: 'alice',
    sessionId: 's1',
    setstatMode: options.setstatMode ?? 'Error',
    ...(options.maxHandles ? { maxHandles: options.maxHandles } : {}),
    ...(options.unsafeNames ? { unsafeNames: options.unsafeNames } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
  });
  const client = new TestSftpClient(theirs);
  return { storage, session, client };
}
