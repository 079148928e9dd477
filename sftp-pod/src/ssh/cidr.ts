// Source address matching against CIDR lists (server-wide and per user), IPv4 and IPv6, with IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d, what a dual-stack listener reports) treated as IPv4.
import { BlockList, isIP } from 'node:net';

export class CidrError extends Error {
  readonly code = 'SFTPGATE_CIDR_INVALID';
}

function normalise(address: string): { addr: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return { addr: mapped[1], family: 'ipv4' };
  return { addr: address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Compiles a CIDR list; throws CidrError naming the bad entry. An empty list matches nothing. */
export function compileCidrs(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const prefix = Number(bits);
    const fam = addr ? isIP(addr) : 0;
    if (!addr || fam === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (fam === 4 ? 32 : 128)) {
      throw new CidrError(`invalid CIDR ${JSON.stringify(c)}`);
    }
    list.addSubnet(addr, prefix, fam === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

export function addressAllowed(list: BlockList, address: string): boolean {
  const { addr, family } = normalise(address);
  return list.check(addr, family);
}

/** The eight 16-bit groups of an IPv6 address (handles `::`, an embedded IPv4 tail and a zone id); undefined if bad. */
export function ipv6Groups(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * The unit per-source limits (defender scores and bans, unauthenticated caps) count: an IPv4 address, or the /64 an
 * IPv6 address lies in — one IPv6 host usually holds a whole /64, so counting addresses would give it 2^64 slots.
 */
export function sourceKey(address: string): string {
  const { addr, family } = normalise(address);
  if (family === 'ipv4') return addr;
  const groups = ipv6Groups(addr);
  if (!groups) return addr;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
