// The eight rights of a user, declared once: in users.schema.json ($defs.permission). The type is generated from it;
// the list below is read from it, so neither can drift from the schema the pod validates against.
import type { Permission } from './types.generated.ts';
import schema from './users.schema.json' with { type: 'json' };

export type { Permission };

/** Every permission, in the schema's order. */
export const PERMISSIONS: readonly Permission[] = Object.freeze(schema.$defs.permission.enum as Permission[]);

/** True when `value` names a permission. */
export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}
