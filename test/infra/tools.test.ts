import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTestbedError, TestbedErrorCode } from './errors.ts';
import { makeTempDir, removeTempDir } from './process.ts';
import { readVersions, toolDir, toolPath } from './tools.ts';

const tmp = makeTempDir('tools-test');
after(() => removeTempDir(tmp));

describe('tools', () => {
  it('reads versions.env the way bash sources it (comments, quotes)', () => {
    const file = join(tmp, 'versions.env');
    writeFileSync(file, '# comment\nA=1\n\nB="two words"\nC=\'x\'\n  D=v1.2.3  \n');
    assert.deepEqual(readVersions(file), { A: '1', B: 'two words', C: 'x', D: 'v1.2.3' });
  });

  it('derives cache dirs from the pins', () => {
    const v = readVersions();
    assert.match(toolDir('kube-apiserver') ?? '', new RegExp(`kubernetes-${v['KUBERNETES_VERSION']}$`));
    assert.match(toolDir('minio') ?? '', new RegExp(`minio-${v['MINIO_VERSION']}$`));
    assert.equal(toolDir('kubectl'), undefined);
  });

  it('tells to run `make tools` when a tool is missing', () => {
    const saved = process.env['SFTPGATE_CACHE'];
    process.env['SFTPGATE_CACHE'] = join(tmp, 'empty-cache');
    try {
      assert.throws(
        () => toolPath('minio'),
        (err) => isTestbedError(err, TestbedErrorCode.ToolMissing) && err.message.includes('make tools'),
      );
    } finally {
      if (saved === undefined) delete process.env['SFTPGATE_CACHE'];
      else process.env['SFTPGATE_CACHE'] = saved;
    }
  });
});
