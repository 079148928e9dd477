import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { KubeError } from './errors.ts';
import { inClusterCredentials, KubeConfigAccess, kubeconfigCredentials, loadKubeAccess } from './kube-config.ts';

const parseKubeconfig = (text: string, base: string) => kubeconfigCredentials(parse(text), base);

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    contexts: [
      { name: 'other', context: { cluster: 'nope', user: 'nope' } },
      { name: 'ctx', context: { cluster: 'c', user: 'u' } },
    ],
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
  });
}

async function applied(text: string, base = '/nonexistent'): Promise<RequestOptions> {
  const options: RequestOptions = { headers: { Accept: 'application/json' } };
  await new KubeConfigAccess(parseKubeconfig(text, base)).applyToHTTPSOptions(options);
  return options;
}

describe('kubeconfig', () => {
  it('client certificate and CA inline: TLS material set, no bearer', async () => {
    const o = await applied(
      kubeconfig(
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        { 'certificate-authority-data': b64('CA') },
      ),
    );
    assert.equal(String(o.ca), 'CA');
    assert.equal(String(o.cert), 'CERT');
    assert.equal(String(o.key), 'KEY');
    assert.equal((o.headers as Record<string, string>)['Authorization'], undefined);
    assert.equal((o.headers as Record<string, string>)['Accept'], 'application/json');
  });

  it('token: bearer header; files resolved against the kubeconfig directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'ca.pem'), 'FILECA');
    const o = await applied(kubeconfig({ token: 'tok' }, { 'certificate-authority': 'ca.pem' }), dir);
    assert.equal((o.headers as Record<string, string>)['Authorization'], 'Bearer tok');
    assert.equal(String(o.ca), 'FILECA');
  });

  it('the current context picks the cluster and server', () => {
    const access = new KubeConfigAccess(parseKubeconfig(kubeconfig({ token: 't' }), '/'));
    assert.equal(access.getCurrentCluster().server, 'https://127.0.0.1:6443');
  });

  const refused: Array<[string, string, RegExp]> = [
    ['exec plugin', kubeconfig({ exec: { command: 'aws' } }), /exec plugins/],
    ['auth provider', kubeconfig({ 'auth-provider': { name: 'gcp' } }), /auth providers/],
    ['no server', kubeconfig({ token: 't' }, { server: undefined }), /has no server/],
    ['missing context', 'current-context: x\ncontexts: []\n', /no context named "x"/],
    ['empty', '', /kubeconfig is empty/],
  ];
  for (const [name, text, message] of refused) {
    it(`refused: ${name}`, () => {
      assert.throws(
        () => parseKubeconfig(text, '/'),
        (err: unknown) => err instanceof KubeError && message.test(err.message),
      );
    });
  }

  it('in cluster: service env, mounted CA, token file re-read (rotation)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(dir, 'ca.crt'), 'SACA');
    writeFileSync(join(dir, 'token'), 'first\n');
    const creds = inClusterCredentials({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    assert.equal(creds.server, 'https://[fd00::1]:443');
    const access = new KubeConfigAccess(creds);
    const o: RequestOptions = {};
    await access.applyToHTTPSOptions(o);
    assert.equal((o.headers as Record<string, string>)['Authorization'], 'Bearer first');
    assert.equal(String(o.ca), 'SACA');
  });

  it('a file that is not YAML, or not there: a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'config'), '{ unbalanced');
    await assert.rejects(
      loadKubeAccess(join(dir, 'config'), {}),
      (err: unknown) => err instanceof KubeError && /not valid YAML/.test(err.message),
    );
    await assert.rejects(
      loadKubeAccess('/nonexistent/kubeconfig', {}),
      (err: unknown) => err instanceof KubeError && /cannot read kubeconfig/.test(err.message),
    );
    assert.throws(
      () => inClusterCredentials({}, '/nonexistent'),
      (err: unknown) => err instanceof KubeError && /not in a cluster/.test(err.message),
    );
  });
});
