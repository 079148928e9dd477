// FIFO per tenant, round-robin across tenants: a namespace that queues ten thousand keys delays another namespace's
// next key by at most one key per busier namespace, not by its whole backlog. The tenant of `namespace/name` is the
// namespace; cluster-scoped keys (no '/') share one group.

/** The group a work-queue key belongs to: its namespace. */
export function tenantOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

export class FairQueue {
  /** Per tenant, its keys in arrival order; a Map keeps the tenants' round-robin order. */
  readonly #byTenant = new Map<string, string[]>();
  #length = 0;

  push(key: string): void {
    const tenant = tenantOf(key);
    const keys = this.#byTenant.get(tenant);
    if (keys) keys.push(key);
    else this.#byTenant.set(tenant, [key]);
    this.#length++;
  }

  /** The oldest key of the tenant whose turn it is; that tenant then goes to the back of the line. */
  shift(): string | undefined {
    const first = this.#byTenant.entries().next();
    if (first.done) return undefined;
    const [tenant, keys] = first.value;
    const key = keys.shift();
    this.#byTenant.delete(tenant);
    if (keys.length > 0) this.#byTenant.set(tenant, keys);
    if (key !== undefined) this.#length--;
    return key;
  }

  get length(): number {
    return this.#length;
  }

  keys(): string[] {
    return [...this.#byTenant.values()].flat();
  }
}
