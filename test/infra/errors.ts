// Errors of the test bed, with stable codes so a test (or the CLI) can tell "the tools are not installed" from
// "the component did not come up" without parsing messages.

export const TestbedErrorCode = {
  /** A cached binary is missing: run `make tools`. */
  ToolMissing: 'SFTPGATE_TESTBED_TOOL_MISSING',
  /** A component did not become ready in time; the message carries the tail of its log. */
  StartupTimeout: 'SFTPGATE_TESTBED_STARTUP_TIMEOUT',
  /** A component's process exited while we waited for it (or before it was stopped). */
  ProcessExited: 'SFTPGATE_TESTBED_PROCESS_EXITED',
  /** The caller's AbortSignal fired. */
  Aborted: 'SFTPGATE_TESTBED_ABORTED',
  /** A short-lived command (kubectl, openssl, helm, ...) failed; the message carries its stderr. */
  CommandFailed: 'SFTPGATE_TESTBED_COMMAND_FAILED',
  /** No free loopback port could be reserved. */
  NoFreePort: 'SFTPGATE_TESTBED_NO_FREE_PORT',
} as const;
export type TestbedErrorCode = (typeof TestbedErrorCode)[keyof typeof TestbedErrorCode];

export class TestbedError extends Error {
  readonly code: TestbedErrorCode;
  constructor(code: TestbedErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestbedError';
    this.code = code;
  }
}

export function isTestbedError(err: unknown, code?: TestbedErrorCode): err is TestbedError {
  return err instanceof TestbedError && (code === undefined || err.code === code);
}

/** The error to throw when `signal` fired: keeps the signal's reason as the cause. */
export function abortedError(what: string, signal: AbortSignal): TestbedError {
  return new TestbedError(TestbedErrorCode.Aborted, `${what}: aborted`, { cause: signal.reason });
}
