// The one base class for errors with a stable `code` (undici's UND_ERR_*, fastify's FST_ERR_*). Each area keeps its
// own codes and subclasses; this only fixes the shape: `code` set once, `name` from the concrete class, causes chained.

/** An error whose `code` is stable (documented, matched by callers and tests); the message is for humans. */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    // new.target: a subclass that does not set its own name still reports its class name in logs and stack traces.
    this.name = new.target.name;
    this.code = code;
  }
}

/** True when `err` is a CodedError, optionally with one of `codes`. */
export function hasCode<C extends string>(err: unknown, ...codes: C[]): err is CodedError<C> {
  return err instanceof CodedError && (codes.length === 0 || (codes as string[]).includes(err.code));
}
