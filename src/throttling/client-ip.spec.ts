import type { Request } from 'express';
import { clientIp, ipGroup } from './client-ip';

const req = (peer: string, forwarded?: string): Request =>
  ({
    socket: { remoteAddress: peer },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as Request;

describe('clientIp', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientIp(req('10.0.0.1', '1.2.3.4'), 0)).toBe('10.0.0.1');
  });

  it('takes the entry the trusted proxy appended, not a spoofed one further left', () => {
    expect(clientIp(req('10.0.0.1', '6.6.6.6, 1.2.3.4'), 1)).toBe('1.2.3.4');
    expect(clientIp(req('10.0.0.2', '6.6.6.6, 1.2.3.4, 10.0.0.1'), 2)).toBe('1.2.3.4');
  });

  it('falls back to the leftmost entry when there are fewer hops than trusted, and strips ports', () => {
    expect(clientIp(req('10.0.0.1', '1.2.3.4:5555'), 3)).toBe('1.2.3.4');
    expect(clientIp(req('10.0.0.1'), 1)).toBe('10.0.0.1');
    expect(clientIp(req('10.0.0.1', '[2001:db8::1]:443'), 1)).toBe('2001:db8::1');
  });

  it('stops at an entry that is not an address', () => {
    expect(clientIp(req('10.0.0.1', 'garbage'), 1)).toBe('10.0.0.1');
  });
});

describe('ipGroup', () => {
  it('groups IPv6 addresses by /56 by default and keeps IPv4 as is', () => {
    expect(ipGroup('2001:db8:abcd:12ff::1', 56)).toBe('2001:db8:abcd:1200::/56');
    expect(ipGroup('2001:db8:abcd:12aa:1:2:3:4', 56)).toBe('2001:db8:abcd:1200::/56');
    expect(ipGroup('2001:db8:abcd:1300::1', 56)).toBe('2001:db8:abcd:1300::/56');
    expect(ipGroup('1.2.3.4', 56)).toBe('1.2.3.4');
  });

  it('unwraps IPv4-mapped IPv6 and honours other prefix lengths', () => {
    expect(ipGroup('::ffff:127.0.0.1', 56)).toBe('127.0.0.1');
    expect(ipGroup('2001:db8:1:2:3:4:5:6', 64)).toBe('2001:db8:1:2::/64');
    expect(ipGroup('2001:db8:1:2:3:4:5:6', 48)).toBe('2001:db8:1::/48');
    expect(ipGroup('2001:db8:1:2:3:4:5:6', 128)).toBe('2001:db8:1:2:3:4:5:6');
  });
});
