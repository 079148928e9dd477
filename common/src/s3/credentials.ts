// Credentials as a provider the client asks before signing. A value carrying an expiration is reused until it is
// within 300 s of it, then the provider is asked again (the AWS SDK's window, which the credential broker plans its
// refresh around); concurrent requests share one ask. Without configured credentials the client reads the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: what the operator's Secret provides), and
// only when those are absent loads the AWS SDK's default chain (IRSA, Pod Identity, profiles), lazily.

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type CredentialsProvider = () => Promise<Credentials>;

/** The provider is asked again when the credentials it gave expire within this window. */
export const REFRESH_WINDOW_MS = 300_000;

/** A provider that caches what `source` returns until REFRESH_WINDOW_MS before its expiration. */
export function cachingProvider(
  source: Credentials | CredentialsProvider | undefined,
  now: () => number = Date.now,
): CredentialsProvider {
  if (source !== undefined && typeof source !== 'function') {
    const fixed = Promise.resolve(source);
    return () => fixed;
  }
  const ask = source ?? defaultChain();
  let current: Credentials | undefined;
  let inflight: Promise<Credentials> | undefined;
  return async () => {
    const c = current;
    if (c !== undefined && (c.expiration === undefined || c.expiration.getTime() - now() > REFRESH_WINDOW_MS)) {
      return c;
    }
    inflight ??= ask()
      .then((fresh) => {
        current = fresh;
        return fresh;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

/** Environment first (no SDK code loaded), then the SDK's default chain. */
function defaultChain(): CredentialsProvider {
  let sdk: CredentialsProvider | undefined;
  return async () => {
    const id = process.env['AWS_ACCESS_KEY_ID'];
    const secret = process.env['AWS_SECRET_ACCESS_KEY'];
    if (id && secret) {
      const token = process.env['AWS_SESSION_TOKEN'];
      return { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
    }
    if (sdk === undefined) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      sdk = defaultProvider();
    }
    return sdk();
  };
}
