// One memory-reducing collection once the pod serves (docs/benchmarks.md, "Pod idle memory, session 19"). Start-up
// leaves garbage in V8's old space (module set-up, the users table's and host keys' parse results) and a young
// generation grown while loading; an idle pod allocates too little to ever run the full collection that would give it
// back. V8's "last resort" collection (full, compacting, repeated until nothing more is freed, young generation
// shrunk) does: ~3 MiB of the idle pod's RSS, once, for tens of milliseconds.
//
// The collector is taken privately, not with a process-wide --expose-gc: the flag is set only while one throwaway
// context is created (V8 installs `gc` into contexts created while it is set), so the pod's own context never has a
// global `gc` for any dependency to call.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collector = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** V8's collector from a throwaway context; the flag is off again before this returns. */
function takeCollector(): Collector {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as Collector;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Runs the collection; returns the milliseconds it took. `collector` is for tests. */
export function collectStartupGarbage(collector: Collector = takeCollector()): number {
  const started = performance.now();
  collector({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return performance.now() - started;
}
