import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { forbiddenRange } from './address-policy.js';
import { refusedAddress } from './errors.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect that fails when the name resolves to a forbidden address. It runs
 * as part of the connection, so the address checked is the address connected to: a name that
 * answered with a public address at submit time and a private one now (DNS rebinding) is refused.
 * Node asks for every address ({ all: true }) when it races IPv4 and IPv6; any forbidden one fails.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, options, (err, address, family) => {
    if (err) {
      callback(err, address, family);
      return;
    }
    const entries = Array.isArray(address) ? address : [{ address, family }];
    for (const entry of entries) {
      const range = forbiddenRange(entry.address);
      if (range !== null) {
        callback(refusedAddress(hostname, entry.address, range), '');
        return;
      }
    }
    callback(null, address, family);
  });
}
