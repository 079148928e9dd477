// One watch response as a stream of events: newline-delimited JSON, ERROR events thrown as ApiError, a broken or
// reset connection thrown as KubeError(ApiUnavailable), an aborted signal ending the stream quietly.
import type http from 'node:http';
import { createInterface } from 'node:readline';
import { ApiError, KubeError, KubeErrorCode } from './errors.ts';
import type { KubeObject, WatchEvent } from './types.ts';

export async function* watchEvents<T extends KubeObject>(
  response: http.IncomingMessage,
  path: string,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  const lines = createInterface({ input: response, crlfDelay: Number.POSITIVE_INFINITY });
  // readline only ends on the input's 'end': a destroyed or reset response (abort, watchdog, API server killed)
  // would leave the loop waiting forever, so close it on the response's 'close' and remember any error.
  let streamError: unknown;
  const onError = (err: unknown): void => {
    streamError = err;
  };
  const onClose = (): void => lines.close();
  response.on('error', onError);
  response.once('close', onClose);
  const onAbort = (): void => {
    response.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of lines) {
      if (line === '') continue;
      const event = JSON.parse(line) as WatchEvent<T>;
      if (event.type === 'ERROR') {
        const status = event.object as unknown as { code?: number; reason?: string; message?: string };
        throw new ApiError(status.code ?? 500, status.reason ?? 'WatchError', status.message ?? '', 'watch', path);
      }
      yield event;
    }
    if (signal.aborted) return;
    if (streamError !== undefined || !response.complete) {
      throw new KubeError(KubeErrorCode.ApiUnavailable, `watch ${path}: connection broke`, {
        cause: streamError,
      });
    }
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof ApiError || err instanceof KubeError) throw err;
    throw new KubeError(KubeErrorCode.ApiUnavailable, `watch ${path}: connection broke`, { cause: err });
  } finally {
    signal.removeEventListener('abort', onAbort);
    response.off('close', onClose);
    response.destroy();
    lines.close();
  }
}
