import { describe, expect, it } from 'vitest';
import { CallbackUrlRefusedError, checkCallbackUrl, DnsUnavailableError, type LookupFn } from '../../src/index.js';

const resolvesTo =
  (...addresses: string[]): LookupFn =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const notFound: LookupFn = async (hostname) => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

async function refusal(promise: Promise<unknown>): Promise<CallbackUrlRefusedError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the callback_url to be refused');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CallbackUrlRefusedError);
  expect((err as CallbackUrlRefusedError).code).toBe('CALLBACK_URL_REFUSED');
  return err as CallbackUrlRefusedError;
}

describe('checkCallbackUrl', () => {
  it('refuses schemes other than http and https', async () => {
    const err = await refusal(checkCallbackUrl('ftp://example.com/x', { allowPrivate: true }));
    expect(err.message).toMatch(/http or https, not ftp/);
    await refusal(checkCallbackUrl('file:///etc/passwd', { allowPrivate: true }));
  });

  it('refuses credentials in the URL', async () => {
    const err = await refusal(checkCallbackUrl('https://user:pass@example.com/hook', { allowPrivate: false, lookup: resolvesTo('93.184.216.34') }));
    expect(err.message).toMatch(/username or password/);
    await refusal(checkCallbackUrl('https://user@example.com/hook', { allowPrivate: true }));
  });

  it('refuses a URL longer than 2048 characters and one that does not parse', async () => {
    const long = `https://example.com/${'a'.repeat(2048)}`;
    expect((await refusal(checkCallbackUrl(long, { allowPrivate: true }))).message).toMatch(/at most 2048/);
    await refusal(checkCallbackUrl('not a url', { allowPrivate: true }));
    await refusal(checkCallbackUrl('/relative/path', { allowPrivate: true }));
  });

  it('refuses http://localhost:1234/x: localhost resolves to loopback', async () => {
    const err = await refusal(checkCallbackUrl('http://localhost:1234/x', { allowPrivate: false }));
    expect(err.message).toMatch(/callback_url host localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(err.message).toMatch(/WEBHOOK_ALLOW_PRIVATE=true/);
  });

  it('refuses a name that resolves to a private address', async () => {
    const err = await refusal(checkCallbackUrl('https://hooks.example.com/x', { allowPrivate: false, lookup: resolvesTo('10.0.0.5') }));
    expect(err.message).toBe('callback_url host hooks.example.com resolves to 10.0.0.5, a private address, not a public one (set WEBHOOK_ALLOW_PRIVATE=true to allow)');
  });

  it('refuses a name when any one of its addresses is forbidden', async () => {
    const err = await refusal(checkCallbackUrl('https://hooks.example.com/x', { allowPrivate: false, lookup: resolvesTo('93.184.216.34', '169.254.169.254') }));
    expect(err.message).toMatch(/169\.254\.169\.254, a link-local address/);
  });

  it('accepts a name that resolves only to public addresses, and returns the parsed URL', async () => {
    const url = await checkCallbackUrl('https://hooks.example.com:8443/x?y=1', { allowPrivate: false, lookup: resolvesTo('93.184.216.34', '2606:2800:220:1::1') });
    expect(url).toBeInstanceOf(URL);
    expect(url.href).toBe('https://hooks.example.com:8443/x?y=1');
  });

  it('passes { all: true } to the lookup', async () => {
    const calls: unknown[] = [];
    await checkCallbackUrl('https://hooks.example.com/', {
      allowPrivate: false,
      lookup: async (hostname, options) => {
        calls.push([hostname, options]);
        return [{ address: '93.184.216.34', family: 4 }];
      },
    });
    expect(calls).toEqual([['hooks.example.com', { all: true }]]);
  });

  it('refuses a name that does not resolve, saying so', async () => {
    const err = await refusal(checkCallbackUrl('https://nope.invalid/x', { allowPrivate: false, lookup: notFound }));
    expect(err.message).toBe('callback_url host nope.invalid does not resolve (ENOTFOUND)');
    await refusal(checkCallbackUrl('https://empty.example/x', { allowPrivate: false, lookup: resolvesTo() }));
  });

  it('answers a resolver that cannot answer now (EAI_AGAIN) with a retryable error, not a refusal', async () => {
    const unavailable: LookupFn = async (hostname) => {
      throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' });
    };
    const err = await checkCallbackUrl('https://hooks.example.com/x', { allowPrivate: false, lookup: unavailable }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsUnavailableError);
    expect(err).toMatchObject({ code: 'DNS_UNAVAILABLE', retryable: true });
  });

  it('classifies IP literals directly, without a lookup', async () => {
    const lookup: LookupFn = () => {
      throw new Error('lookup must not be called for an IP literal');
    };
    expect((await refusal(checkCallbackUrl('http://127.0.0.1:8080/x', { allowPrivate: false, lookup }))).message).toBe(
      'callback_url host 127.0.0.1 is a loopback address, not a public one (set WEBHOOK_ALLOW_PRIVATE=true to allow)',
    );
    expect((await refusal(checkCallbackUrl('http://[::1]:8080/x', { allowPrivate: false, lookup }))).message).toMatch(/host ::1 is a loopback/);
    expect((await refusal(checkCallbackUrl('http://[::ffff:169.254.169.254]/x', { allowPrivate: false, lookup }))).message).toMatch(/link-local/);
    // the URL parser normalizes other spellings of an IPv4 address first
    await refusal(checkCallbackUrl('http://2130706433/x', { allowPrivate: false, lookup }));
    await refusal(checkCallbackUrl('http://0x7f.1/x', { allowPrivate: false, lookup }));
    expect((await checkCallbackUrl('http://93.184.216.34/x', { allowPrivate: false, lookup })).hostname).toBe('93.184.216.34');
    expect((await checkCallbackUrl('http://[2606:4700::1111]/x', { allowPrivate: false, lookup })).hostname).toBe('[2606:4700::1111]');
  });

  it('with allowPrivate accepts loopback and private hosts', async () => {
    expect((await checkCallbackUrl('http://127.0.0.1:1234/x', { allowPrivate: true })).port).toBe('1234');
    expect((await checkCallbackUrl('http://localhost:1234/x', { allowPrivate: true })).hostname).toBe('localhost');
    expect((await checkCallbackUrl('http://db.internal/x', { allowPrivate: true, lookup: resolvesTo('10.0.0.5') })).hostname).toBe('db.internal');
  });
});
