import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodedError } from '../errors/coded-error.ts';
import { createLogger, silentLogger } from './logger.ts';

function capture(level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    ...(level && { level }),
    base: { component: 't' },
    write: (l) => lines.push(JSON.parse(l)),
  });
  return { log, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with time, level, msg, base and fields', () => {
    const { log, lines } = capture();
    log.child({ server: 's1' }).info('started', { port: 22 });
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line?.['level'], 'info');
    assert.equal(line?.['msg'], 'started');
    assert.equal(line?.['component'], 't');
    assert.equal(line?.['server'], 's1');
    assert.equal(line?.['port'], 22);
    assert.ok(!Number.isNaN(Date.parse(String(line?.['time']))));
  });

  it('drops lines below the level', () => {
    const { log, lines } = capture('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    assert.deepEqual(
      lines.map((l) => l['msg']),
      ['c', 'd'],
    );
  });

  // The operator's and the pod's loggers used to disagree here (any Error field vs only `err`; string vs any code).
  const cases: [string, unknown, unknown][] = [
    [
      'a coded error with its cause chain',
      new CodedError('SFTPGATE_X', 'outer', { cause: new Error('inner') }),
      {
        name: 'CodedError',
        message: 'outer',
        code: 'SFTPGATE_X',
        cause: { name: 'Error', message: 'inner' },
      },
    ],
    ['a numeric code', Object.assign(new Error('gone'), { code: 410 }), { name: 'Error', message: 'gone', code: 410 }],
    ['a thrown string under err', 'boom', 'boom'],
    ['a non-Error cause', new Error('x', { cause: 'why' }), { name: 'Error', message: 'x', cause: 'why' }],
  ];
  for (const [name, value, expected] of cases) {
    it(`serialises ${name}`, () => {
      const { log, lines } = capture();
      log.error('failed', { err: value });
      assert.deepEqual(lines[0]?.['err'], expected);
    });
  }

  it('serialises an Error under any field name, bounds the cause depth and never writes the stack', () => {
    let err: Error = new Error('root');
    for (let i = 0; i < 10; i++) err = new Error(`level ${i}`, { cause: err });
    const { log, lines } = capture();
    log.warn('deep', { failure: err });
    let depth = 0;
    let node = lines[0]?.['failure'] as { cause?: unknown; stack?: unknown } | undefined;
    while (node?.cause !== undefined) {
      assert.equal(node.stack, undefined);
      node = node.cause as typeof node;
      depth++;
    }
    assert.equal(depth, 4);
  });

  it('silentLogger writes nothing and its children are silent', () => {
    silentLogger.child({ a: 1 }).error('nothing');
  });
});
