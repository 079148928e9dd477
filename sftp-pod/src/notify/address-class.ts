// What kind of address a webhook host resolved to, for the SSRF guard at send time (docs/audit.md "Notifications"):
// a tenant's URL must never make the pod talk to the cloud metadata service, to itself, or into the cluster unless
// the platform's allow-list entry says that destination is private. Pure; IPv4-mapped, IPv4-compatible, NAT64 and
// 6to4 IPv6 forms are judged by the IPv4 address they carry.
import { BlockList, isIP } from 'node:net';

export type AddressClass =
  /** Link-local, including the cloud metadata services (169.254.169.254, fd00:ec2::254): never a webhook. */
  | 'link-local'
  | 'loopback'
  /** RFC 1918, CGNAT, IPv6 unique-local: where cluster Pods and Services live. */
  | 'private'
  /** 0.0.0.0/8, ::, multicast, broadcast, documentation and reserved ranges: never a destination. */
  | 'reserved'
  | 'public';

const RANGES: readonly (readonly [AddressClass, string, number, 'ipv4' | 'ipv6'])[] = [
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  // AWS IMDS over IPv6 sits in unique-local space: named so it is never allowed as "private".
  ['link-local', 'fd00:ec2::254', 128, 'ipv6'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['reserved', '0.0.0.0', 8, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '192.0.2.0', 24, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '198.51.100.0', 24, 'ipv4'],
  ['reserved', '203.0.113.0', 24, 'ipv4'],
  ['reserved', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['reserved', '::', 128, 'ipv6'],
  ['reserved', 'ff00::', 8, 'ipv6'],
  ['reserved', '2001:db8::', 32, 'ipv6'],
  ['reserved', '100::', 64, 'ipv6'],
];

/** Checked in this order, so fd00:ec2::254 is link-local before fc00::/7 makes it private. */
const ORDER: readonly AddressClass[] = ['link-local', 'loopback', 'reserved', 'private'];

const LISTS = new Map<AddressClass, BlockList>(
  ORDER.map((cls) => {
    const list = new BlockList();
    for (const [c, net, bits, family] of RANGES) if (c === cls) list.addSubnet(net, bits, family);
    return [cls, list];
  }),
);

/** Expands an IPv6 address to its 8 groups (numbers), or undefined. */
function groups(ip: string): number[] | undefined {
  let text = ip;
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (dotted) {
    const [o1, o2, o3, o4] = dotted.slice(2).map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((o1 << 8) | o2).toString(16)}:${((o3 << 8) | o4).toString(16)}`;
  }
  const [head = '', rest, extra] = text.split('::');
  if (extra !== undefined) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const h = parse(head);
  const r = rest === undefined ? [] : parse(rest);
  const fill = 8 - h.length - r.length;
  if ((rest === undefined && fill !== 0) || fill < 0) return undefined;
  const all = [...h, ...Array<number>(fill).fill(0), ...r];
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined;
}

function v4(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4). */
export function embeddedIPv4(ip: string): string | undefined {
  const g = groups(ip);
  if (!g) return undefined;
  const [a, b, c, d, e, f, hi = 0, lo = 0] = g;
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(5) && f === 0xffff) return v4(hi, lo);
  if (zeroTo(6) && (hi !== 0 || lo > 1)) return v4(hi, lo);
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return v4(hi, lo);
  if (a === 0x2002) return v4(b ?? 0, c ?? 0);
  return undefined;
}

/** The class of a literal IP address; 'reserved' for anything that is not one. Pure. */
export function classifyAddress(ip: string): AddressClass {
  const family = isIP(ip);
  if (family === 0) return 'reserved';
  if (family === 6) {
    const inner = embeddedIPv4(ip);
    if (inner !== undefined) return classifyAddress(inner);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const cls of ORDER) if (LISTS.get(cls)?.check(ip, type)) return cls;
  return 'public';
}

/**
 * Why the pod must not connect to `ip`, or undefined when it may. Link-local (metadata) and reserved addresses are
 * always refused; loopback and private ones only when the allow-list entry has allowPrivateAddresses. Pure.
 */
export function refusedAddress(ip: string, allowPrivate: boolean): string | undefined {
  const cls = classifyAddress(ip);
  if (cls === 'public') return undefined;
  if ((cls === 'loopback' || cls === 'private') && allowPrivate) return undefined;
  const why = cls === 'link-local' ? 'link-local or cloud metadata' : cls;
  const hint =
    cls === 'loopback' || cls === 'private' ? ' (the allow-list entry does not allow private addresses)' : '';
  return `address ${ip} is ${why}${hint}`;
}
