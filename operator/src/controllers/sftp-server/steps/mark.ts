// Records one condition on a server run's status (generation stamped from the object).
import type { ConditionType, Reason } from '../../../api/conditions.ts';
import { setCondition } from '../../../runtime/conditions.ts';
import type { ServerRun } from '../run.ts';

export function mark(run: ServerRun, type: ConditionType, ok: boolean, reason: Reason, message: string): void {
  const status = run.status;
  status.conditions = setCondition(
    status.conditions,
    { type, status: ok, reason, message },
    run.server.metadata.generation,
  );
}
