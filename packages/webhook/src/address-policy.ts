import ipaddr from 'ipaddr.js';

/** Global unicast IPv6 (RFC 4291): anything outside it is not an address on the public internet. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/**
 * Why an address must not receive callbacks, or null when it is a public unicast address.
 * The name is the ipaddr.js range ('loopback', 'private', 'linkLocal', ...): only 'unicast' is
 * allowed, so every special-purpose block the library knows about (and any it adds later) is out.
 */
export function forbiddenRange(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return 'unparseable';
  // process() unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1), which connects to the IPv4 address.
  const address = ipaddr.process(ip);
  const range = address.range();
  if (range !== 'unicast') return range;
  // ipaddr.js calls every unlisted IPv6 block 'unicast', including unassigned space and the
  // deprecated IPv4-compatible form (::127.0.0.1): outside 2000::/3 is refused as well.
  if (address.kind() === 'ipv6' && !address.match(IPV6_GLOBAL_UNICAST)) return 'non-global IPv6';
  return null;
}

/**
 * true for anything that is not a public unicast address: loopback, private, link-local (cloud
 * metadata at 169.254.169.254), CGNAT, multicast, broadcast, reserved, unique-local IPv6, 6to4,
 * Teredo, NAT64, ..., and anything that does not parse as an IP address.
 */
export function isForbiddenAddress(ip: string): boolean {
  return forbiddenRange(ip) !== null;
}
