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
