// Where a server's CPU goes: self time of a V8 .cpuprofile (written by `node --cpu-prof`) grouped by the package or
// source area each function lives in, so a benchmark can say "ssh2's packet code" rather than "the pod is slow".

import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileShare {
  readonly what: string;
  readonly seconds: number;
  readonly share: number;
}

/** "node_modules/ssh2", "@aws-sdk/…", "sftp-pod/src/sftp", "node:internal", "(garbage collector)"… */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (mod?.[1]) return mod[1].startsWith('@smithy') || mod[1].startsWith('@aws') ? '@aws-sdk + @smithy' : mod[1];
  const src = /\/(sftp-pod\/src\/[^/]+)/.exec(url);
  if (src?.[1]) return src[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] ?? ''}`;
  return url;
}

/**
 * Self time per area and per function (top `limit` each), from a profile file. Sample i lasted timeDeltas[i+1]
 * microseconds (V8's convention: a delta precedes the next sample), which is what DevTools shows as self time.
 */
export function summariseProfile(
  path: string,
  limit = 12,
): { totalSeconds: number; areas: ProfileShare[]; functions: ProfileShare[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] as number);
    const us = deltas[i + 1] ?? 0;
    if (!node || us <= 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    // (idle) is the event loop waiting, not CPU; (program) is native code V8 cannot attribute, and stays.
    if (functionName === '(idle)') continue;
    total += us;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn =
      `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|sftp-pod)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const top = (m: Map<string, number>): ProfileShare[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([what, us]) => ({ what, seconds: us / 1e6, share: total > 0 ? us / total : 0 }));
  return { totalSeconds: total / 1e6, areas: top(areas), functions: top(functions) };
}
