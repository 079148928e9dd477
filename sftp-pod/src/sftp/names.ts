// Which names may be created. Control characters (C0, DEL, C1), Unicode line/paragraph separators and backslashes
// reach S3 keys and, from there, line-based listings, shell scripts and Windows tools downstream, where a newline
// splits one name into two and a backslash turns into a directory separator. Creating them is refused by default
// (`--unsafe-names Refuse`); existing keys with them stay listable (escaped in long names), readable and deletable.

/** Characters refused in created names: U+0000-001F, U+007F-009F, U+2028, U+2029 and `\`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g;

export type UnsafeNames = 'Refuse' | 'Allow';

/** The refusal for creating `virtualPath`, or undefined when every segment of it is a safe name. */
export function unsafeNameRefusal(virtualPath: string): string | undefined {
  const m = UNSAFE.exec(virtualPath);
  if (!m) return undefined;
  const what = m[0] === '\\' ? 'a backslash' : `the control character ${escapeChar(m[0])}`;
  return `invalid name: ${escapeName(virtualPath)} contains ${what} (control characters, newlines and backslashes are refused)`;
}

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A name as it may be shown on one line (long names, log and status messages): unsafe characters as C escapes
 * (`\n`, `\t`, `\x1b`, `\u2028`, `\\`). The name field of a NAME reply stays raw, so clients can still address it.
 */
export function escapeName(name: string): string {
  return name.replace(UNSAFE_ALL, escapeChar);
}
