// Standalone users source: a YAML or JSON file (docs/users-table.md), polled for changes. Polling (not fs.watch)
// because editors and Kubernetes volume mounts replace files by rename/symlink swap, which inotify watches miss.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsersDocumentError, validateUsersDocument } from '../../../common/src/users/validate.ts';
import type { Logger } from '../telemetry/log.ts';
import type { UsersStore } from './store.ts';

export interface FileSourceOptions {
  readonly path: string;
  readonly store: UsersStore;
  readonly log: Logger;
  readonly pollIntervalMs?: number;
}

async function load(path: string): Promise<{ digest: string; text: string }> {
  const text = await readFile(path, 'utf8');
  return { digest: createHash('sha256').update(text).digest('hex'), text };
}

/**
 * A JSON document (what the operator and most tooling write) is parsed by JSON.parse, as the Secret source does; only
 * anything else loads the YAML parser (YAML 1.2 is a superset of JSON). Loading `yaml` lazily keeps its code out of
 * the heap of pods that never read YAML (docs/benchmarks.md, "Pod memory, session 18").
 */
async function parse(path: string, text: string) {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    try {
      const { parse: parseYaml } = await import('yaml');
      doc = parseYaml(text, { maxAliasCount: 100 });
    } catch (cause) {
      throw new UsersDocumentError(`${path}: not valid YAML/JSON`, { cause });
    }
  }
  return validateUsersDocument(doc, path);
}

/**
 * Loads the file once (throws UsersDocumentError or an fs error: the caller decides to exit), then polls it until
 * `signal` aborts. A later invalid version is logged and ignored: the last valid table stays in force.
 */
export async function startFileSource(o: FileSourceOptions, signal: AbortSignal): Promise<void> {
  const first = await load(o.path);
  o.store.replace((await parse(o.path, first.text)).users);
  o.log.info('users loaded', { source: 'file', users: o.store.size });
  let digest = first.digest;
  void (async () => {
    const interval = o.pollIntervalMs ?? 1000;
    while (!signal.aborted) {
      try {
        await sleep(interval, undefined, { signal });
      } catch {
        return;
      }
      try {
        const next = await load(o.path);
        if (next.digest === digest) continue;
        digest = next.digest;
        o.store.replace((await parse(o.path, next.text)).users);
        o.log.info('users reloaded', { source: 'file', users: o.store.size });
      } catch (err) {
        o.log.error('users file not applied, keeping the last valid table', { err });
      }
    }
  })();
}
