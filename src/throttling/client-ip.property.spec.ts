import type { Request } from 'express';
import fc from 'fast-check';
import { clientIp } from './client-ip';
import { trackerValue } from './request-tracker';

// Bounded, reproducible runs: a failure prints the seed and the shrunk counterexample.
const RUNS = { numRuns: 300, seed: 0x7c1e };

const req = (peer: string, forwarded: string | string[] | undefined): Request =>
  ({
    socket: { remoteAddress: peer },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as Request;

/** Addresses the trusted proxies see and append (never an attacker's range). */
const proxyAddress = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.0.${a}.${b}`),
  fc
    .tuple(fc.nat(0xffff), fc.nat(0xffff))
    .map(([a, b]) => `fd00::${a.toString(16)}:${b.toString(16)}`),
);
/** Addresses an attacker writes into the header: a range of their own, ports, IPv6... */
const spoofedAddress = fc.oneof(
  fc.nat(255).map((d) => `6.6.6.${d}`),
  fc.nat(255).map((d) => `6.6.6.${d}:443`),
  fc.nat(0xffff).map((d) => `[2001:db8:bad::${d.toString(16)}]:80`),
  fc.constantFrom('::ffff:6.6.6.6', '2001:db8:bad::1'),
);
/** Whatever else a client can put in the header: garbage, empty parts, separators. */
const junk = fc.oneof(
  fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
  fc.constantFrom('', ' ', ',', ', ,', 'unknown', '_hidden', 'for=6.6.6.6', '6.6.6.6, 6.6.6.7'),
);
const attackerPart = fc
  .array(fc.oneof(spoofedAddress, junk), { maxLength: 6 })
  .map((parts) => parts.join(', '));

const isSpoofed = (address: string) => /6\.6\.6\.|2001:db8:bad/i.test(address);

describe('client address extraction (property-based)', () => {
  it('never trusts a forwarded address beyond the trusted hops, whatever the client sends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        attackerPart,
        proxyAddress,
        fc.array(proxyAddress, { minLength: 7, maxLength: 7 }),
        fc.boolean(),
        (trusted, extraProxies, spoofed, client, proxies, split) => {
          // The client talks to proxy 1; each of `hops` proxies appends the address it saw.
          const hops = trusted + extraProxies; // at least as many real proxies as trusted
          const path = [client, ...proxies.slice(0, hops)];
          const appended = path.slice(0, -1); // what the proxies wrote into the header
          const peer = path[path.length - 1]!; // the last proxy (or the client itself)
          const entries = [spoofed, ...appended].filter((entry) => entry !== '');
          const header = split ? entries : entries.join(', ');
          const seen = clientIp(req(peer, entries.length ? header : undefined), trusted);
          expect(isSpoofed(seen)).toBe(false);
          // Exactly the address the outermost trusted proxy saw.
          expect(seen).toBe(path[path.length - 1 - trusted]);
        },
      ),
      RUNS,
    );
  });

  it('ignores X-Forwarded-For entirely with no trusted proxy', () => {
    fc.assert(
      fc.property(attackerPart, proxyAddress, (spoofed, peer) => {
        expect(clientIp(req(peer, spoofed), 0)).toBe(peer);
      }),
      RUNS,
    );
  });

  it('keys the ip tracker by the trusted address, never by a spoofed one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        attackerPart,
        fc.array(proxyAddress, { minLength: 4, maxLength: 4 }),
        (trusted, spoofed, path) => {
          const chain = path.slice(0, trusted + 1);
          const header = [spoofed, ...chain.slice(0, -1)].filter((e) => e !== '').join(', ');
          const value = trackerValue(req(chain[chain.length - 1]!, header), 'ip', {
            trustProxy: trusted,
            ipv6Subnet: 128,
            apiKeyHeader: 'x-api-key',
          });
          expect(isSpoofed(value)).toBe(false);
          expect(value).toBe(`ip:${chain[0]}`);
        },
      ),
      RUNS,
    );
  });
});
