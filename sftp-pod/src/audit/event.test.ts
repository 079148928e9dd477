import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Writer } from '../sftp/codec.ts';
import { OpenFlags, PacketType, Status } from '../sftp/constants.ts';
import type { Args } from '../sftp/handler.ts';
import type { Handle } from '../sftp/handles.ts';
import { startSession } from '../sftp/testing/start-session.ts';
import type { ResolvedPath } from '../storage/jail.ts';
import { type AuditEvent, abandonedUploadEvent, connectionEvent, requestEvent } from './event.ts';

const who = { user: 'alice', server: 'srv', sessionId: 'c0ffee', remoteAddress: '192.0.2.7' };
const now = new Date('2026-12-04T00:00:00.000Z');
const path = (p: string) => ({ virtualPath: p, key: `srv/alice${p}` }) as ResolvedPath;
const writeHandle = (p: string, bytes: number, extra: object = {}) =>
  ({ kind: 'write', path: path(p), copied: false, sink: { bytesReceived: bytes }, ...extra }) as unknown as Handle;

describe('audit event builder', () => {
  const cases: ReadonlyArray<{
    name: string;
    op: string;
    args: Args | undefined;
    code?: number;
    message?: string;
    want: Readonly<Record<string, unknown>> | undefined;
  }> = [
    {
      name: 'mkdir ok',
      op: 'mkdir',
      args: { path: path('/d') },
      want: { action: 'mkdir', status: 'ok', key: 'srv/alice/d' },
    },
    {
      name: 'remove refused carries the status and the message',
      op: 'remove',
      args: { path: path('/ro/f') },
      code: Status.PERMISSION_DENIED,
      message: 'permission denied: delete on /ro/f',
      want: {
        action: 'delete',
        status: 'permission_denied',
        statusCode: 3,
        message: 'permission denied: delete on /ro/f',
      },
    },
    {
      name: 'posix-rename names both sides',
      op: 'ext:posix-rename@openssh.com',
      args: { path: path('/a'), target: path('/b') },
      want: { action: 'rename', path: '/a', targetPath: '/b', targetKey: 'srv/alice/b' },
    },
    {
      name: 'fsetstat is setstat',
      op: 'fsetstat',
      args: { handle: writeHandle('/f', 0) },
      want: { action: 'setstat', path: '/f' },
    },
    {
      name: 'close of an upload: size and digests',
      op: 'close',
      args: { handle: writeHandle('/up', 5, { sink: { bytesReceived: 5, digests: { sha256: 'ab', md5: 'cd' } } }) },
      want: { action: 'upload', bytes: 5, sha256: 'ab', md5: 'cd' },
    },
    {
      name: 'failed close of an upload: no digest',
      op: 'close',
      args: { handle: writeHandle('/up', 5, { sink: { bytesReceived: 5, digests: { sha256: 'ab' } } }) },
      code: Status.FAILURE,
      message: 'upload failed',
      want: { action: 'upload', status: 'failure', sha256: undefined },
    },
    {
      name: 'close of a copy-data target is not an upload',
      op: 'close',
      args: { handle: writeHandle('/c', 0, { copied: true }) },
      want: undefined,
    },
    {
      name: 'close of a download counts bytes served',
      op: 'close',
      args: { handle: { kind: 'read', path: path('/r'), bytes: 9 } as unknown as Handle },
      want: { action: 'download', bytes: 9 },
    },
    {
      name: 'a successful open is reported at close',
      op: 'open',
      args: { path: path('/x'), mode: 'read' },
      want: undefined,
    },
    {
      name: 'a refused open for writing is a failed upload',
      op: 'open',
      args: { path: path('/ro/x'), mode: 'write' },
      code: Status.PERMISSION_DENIED,
      want: { action: 'upload', status: 'permission_denied' },
    },
    {
      name: 'an undecodable open (no args) is still audited',
      op: 'open',
      args: undefined,
      code: Status.NO_SUCH_FILE,
      want: { action: 'upload', path: undefined },
    },
    { name: 'stat is not audited', op: 'stat', args: { path: path('/x') }, want: undefined },
    {
      name: 'write packets are not audited',
      op: 'write',
      args: { handle: writeHandle('/x', 1) },
      code: Status.FAILURE,
      want: undefined,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const e = requestEvent(
        { op: c.op, args: c.args, code: (c.code ?? Status.OK) as 0, message: c.message ?? '' },
        who,
        now,
      );
      if (c.want === undefined) {
        assert.equal(e, undefined);
        return;
      }
      assert.ok(e);
      assert.equal(e.audit, true);
      assert.equal(e.time, '2026-12-04T00:00:00.000Z');
      assert.deepEqual([e.user, e.server, e.sessionId, e.remoteAddress], ['alice', 'srv', 'c0ffee', '192.0.2.7']);
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(e[k as keyof AuditEvent], v, k);
      if (e.status === 'ok') assert.equal(e.message, undefined);
    });
  }

  test('login, logout and an abandoned upload', () => {
    assert.deepEqual(connectionEvent('login', who, undefined, now), {
      audit: true,
      v: 1,
      time: now.toISOString(),
      action: 'login',
      user: 'alice',
      server: 'srv',
      sessionId: 'c0ffee',
      remoteAddress: '192.0.2.7',
      status: 'ok',
    });
    assert.equal(connectionEvent('logout', who, 1.23456, now).durationSeconds, 1.235);
    const a = abandonedUploadEvent(path('/big'), 42, 'connection closed', who, now);
    assert.equal(a.status, 'connection_lost');
    assert.equal(a.bytes, 42);
  });
});

describe('audit at the request dispatch', () => {
  test('one event per audited request, none for reads of metadata', async () => {
    const events: AuditEvent[] = [];
    const { client, session } = startSession({ audit: { log: { emit: (e) => events.push(e) }, subject: who } });
    await client.init();
    await client.pathOp(PacketType.STAT, '/');
    const mk = await client.request(PacketType.MKDIR, (w: Writer) => {
      w.string('/d');
      w.u32(0);
    });
    assert.equal(mk.type, PacketType.STATUS);
    const h = await client.open('/d/f.txt', OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC);
    assert.ok(Buffer.isBuffer(h));
    await client.write(h, 0, Buffer.from('hello'));
    assert.equal((await client.close(h)).code, Status.OK);
    const refused = await client.pathOp(PacketType.REMOVE, '/ro/x');
    assert.equal(refused.type, PacketType.STATUS);
    await client.pathOp(PacketType.REMOVE, '/d/f.txt');
    // The event is written right after the reply: let the dispatch finish.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      events.map((e) => [e.action, e.status, e.path]),
      [
        ['mkdir', 'ok', '/d'],
        ['upload', 'ok', '/d/f.txt'],
        ['delete', 'permission_denied', '/ro/x'],
        ['delete', 'ok', '/d/f.txt'],
      ],
    );
    assert.equal(events[1]?.bytes, 5);
    await session.close('test');
  });

  test('an upload left open when the session ends is audited as connection_lost', async () => {
    const events: AuditEvent[] = [];
    const { client, session } = startSession({ audit: { log: { emit: (e) => events.push(e) }, subject: who } });
    await client.init();
    const h = await client.open('/partial', OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC);
    assert.ok(Buffer.isBuffer(h));
    await client.write(h, 0, Buffer.from('abc'));
    await session.close('connection closed');
    assert.deepEqual(
      events.map((e) => [e.action, e.status, e.path, e.bytes]),
      [['upload', 'connection_lost', '/partial', 3]],
    );
  });
});
