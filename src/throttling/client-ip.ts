import { isIP } from 'node:net';
import type { Request } from 'express';

/**
 * The client address of a request, honouring `X-Forwarded-For` only for `trustedHops`
 * proxies: each trusted proxy appends the address it saw, so the client is the entry
 * `trustedHops` places from the right (counting the socket peer as the last one).
 * With 0 the header is ignored and a client cannot spoof its address.
 */
export function clientIp(req: Request, trustedHops: number): string {
  const peer = req.socket?.remoteAddress ?? '';
  if (trustedHops === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  const chain = [...forwarded, peer];
  // Walk from the right over the trusted hops; stop early at an unusable entry.
  let index = chain.length - 1;
  for (let hop = 0; hop < trustedHops && index > 0; hop++) {
    const candidate = chain[index - 1]!;
    if (isIP(stripPort(candidate)) === 0) break;
    index--;
  }
  return stripPort(chain[index]!);
}

function stripPort(address: string): string {
  // "1.2.3.4:5678" and "[::1]:5678"; a bare IPv6 address has several colons and no brackets.
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.indexOf(':');
  return colon > 0 && address.indexOf(':', colon + 1) === -1 ? address.slice(0, colon) : address;
}

/**
 * The tracking key of an address: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 reduced to
 * its `/subnet` prefix, since one customer usually holds a whole /56 (or /48, /64).
 *
 * @example
 * ipGroup('2001:db8:abcd:12ff::1', 56) // '2001:db8:abcd:1200::/56'
 */
export function ipGroup(address: string, subnet: number): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  if (!groups || subnet >= 128) return address.toLowerCase();
  let bits = subnet;
  const masked = groups.map((group) => {
    const keep = Math.max(0, Math.min(16, bits));
    bits -= 16;
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${compressIpv6(masked)}/${subnet}`;
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.split('%')[0]!.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text =
      text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const parts = [...left, ...Array<string>(fill).fill('0'), ...right];
  if (parts.length !== 8) return undefined;
  return parts.map((part) => parseInt(part, 16));
}

function compressIpv6(groups: number[]): string {
  const hex = groups.map((g) => g.toString(16));
  // Replace the longest run of zero groups (two or more) with '::'.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
