import { describe, expect, it } from 'vitest';
import { CallbackUrlRefusedError, checkCallbackUrl, DnsUnavailableError, type ResolveHost } from '../../src/index.js';

const resolvesTo =
  (...addresses: string[]): ResolveHost =>
  async () =>
    addresses;

const notFound: ResolveHost = async (hostname) => {
  throw Object.assign(new Error(`queryA ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
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
    const err = await refusal(checkCallbackUrl('https://user:pass@example.com/hook', { allowPrivate: false, resolve: resolvesTo('93.184.216.34') }));
    expect(err.message).toMatch(/username or password/);
    await refusal(checkCallbackUrl('https://user@example.com/hook', { allowPrivate: true }));
  });

  it('refuses a URL longer than 2048 characters and one that does not parse', async () => {
    const long = `https://example.com/${'a'.repeat(2048)}`;
    expect((await refusal(checkCallbackUrl(long, { allowPrivate: true }))).message).toMatch(/at most 2048/);
    await refusal(checkCallbackUrl('not a url', { allowPrivate: true }));
    await refusal(checkCallbackUrl('/relative/path', { allowPrivate: true }));
  });

  it('refuses http://localhost/x and *.localhost without asking DNS: they are loopback by definition', async () => {
    const resolve: ResolveHost = () => {
      throw new Error('no DNS query for localhost');
    };
    const err = await refusal(checkCallbackUrl('http://localhost/x', { allowPrivate: false, resolve }));
    expect(err.message).toMatch(/callback_url host localhost resolves to 127\.0\.0\.1, a loopback address/);
    await refusal(checkCallbackUrl('https://api.LocalHost./x', { allowPrivate: false, resolve }));
    expect(err.message).toMatch(/WEBHOOK_ALLOW_PRIVATE=true/);
  });

  it('refuses a name that resolves to a private address', async () => {
    const err = await refusal(checkCallbackUrl('https://hooks.example.com/x', { allowPrivate: false, resolve: resolvesTo('10.0.0.5') }));
    expect(err.message).toBe('callback_url host hooks.example.com resolves to 10.0.0.5, a private address, not a public one (set WEBHOOK_ALLOW_PRIVATE=true to allow)');
  });

  it('refuses a name when any one of its addresses is forbidden', async () => {
    const err = await refusal(checkCallbackUrl('https://hooks.example.com/x', { allowPrivate: false, resolve: resolvesTo('93.184.216.34', '169.254.169.254') }));
    expect(err.message).toMatch(/169\.254\.169\.254, a link-local address/);
  });

  it('accepts a name that resolves only to public addresses, and returns the parsed URL', async () => {
    const url = await checkCallbackUrl('https://hooks.example.com/x?y=1', { allowPrivate: false, resolve: resolvesTo('93.184.216.34', '2606:2800:220:1::1') });
    expect(url).toBeInstanceOf(URL);
    expect(url.href).toBe('https://hooks.example.com/x?y=1');
  });

  it('allows ports 80 and 443 only, unless configured: a callback must not probe other services of a host', async () => {
    const resolve = resolvesTo('93.184.216.34');
    expect((await refusal(checkCallbackUrl('https://hooks.example.com:8443/x', { allowPrivate: false, resolve }))).message).toBe(
      'callback_url port 8443 is not allowed; allowed: 80, 443 (WEBHOOK_ALLOWED_PORTS)',
    );
    await refusal(checkCallbackUrl('http://93.184.216.34:22/', { allowPrivate: false, resolve }));
    await refusal(checkCallbackUrl('https://hooks.example.com:80/x', { allowPrivate: false, resolve, allowedPorts: [443] }));
    expect((await checkCallbackUrl('http://hooks.example.com:80/x', { allowPrivate: false, resolve })).port).toBe('');
    expect((await checkCallbackUrl('https://hooks.example.com:8443/x', { allowPrivate: false, resolve, allowedPorts: [443, 8443] })).port).toBe('8443');
    // local development (WEBHOOK_ALLOW_PRIVATE) has no port policy
    expect((await checkCallbackUrl('http://127.0.0.1:4567/x', { allowPrivate: true })).port).toBe('4567');
  });

  it('asks the resolver for the host name', async () => {
    const calls: string[] = [];
    await checkCallbackUrl('https://hooks.example.com/', {
      allowPrivate: false,
      resolve: async (hostname) => {
        calls.push(hostname);
        return ['93.184.216.34'];
      },
    });
    expect(calls).toEqual(['hooks.example.com']);
  });

  it('refuses a name that does not resolve, saying so', async () => {
    const err = await refusal(checkCallbackUrl('https://nope.invalid/x', { allowPrivate: false, resolve: notFound }));
    expect(err.message).toBe('callback_url host nope.invalid does not resolve (ENOTFOUND)');
    await refusal(checkCallbackUrl('https://nodata.example/x', { allowPrivate: false, resolve: async () => Promise.reject(Object.assign(new Error('x'), { code: 'ENODATA' })) }));
    await refusal(checkCallbackUrl('https://empty.example/x', { allowPrivate: false, resolve: resolvesTo() }));
  });

  it('answers a resolver that cannot answer now (EAI_AGAIN) with a retryable error, not a refusal', async () => {
    const unavailable: ResolveHost = async (hostname) => {
      throw Object.assign(new Error(`queryA ETIMEOUT ${hostname}`), { code: 'ETIMEOUT' });
    };
    const err = await checkCallbackUrl('https://hooks.example.com/x', { allowPrivate: false, resolve: unavailable }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsUnavailableError);
    expect(err).toMatchObject({ code: 'DNS_UNAVAILABLE', retryable: true });
  });

  it('classifies IP literals directly, without a lookup', async () => {
    const resolve: ResolveHost = () => {
      throw new Error('no DNS query for an IP literal');
    };
    expect((await refusal(checkCallbackUrl('http://127.0.0.1/x', { allowPrivate: false, resolve }))).message).toBe(
      'callback_url host 127.0.0.1 is a loopback address, not a public one (set WEBHOOK_ALLOW_PRIVATE=true to allow)',
    );
    expect((await refusal(checkCallbackUrl('http://[::1]/x', { allowPrivate: false, resolve }))).message).toMatch(/host ::1 is a loopback/);
    expect((await refusal(checkCallbackUrl('http://[::ffff:169.254.169.254]/x', { allowPrivate: false, resolve }))).message).toMatch(/link-local/);
    // the URL parser normalizes other spellings of an IPv4 address first
    await refusal(checkCallbackUrl('http://2130706433/x', { allowPrivate: false, resolve }));
    await refusal(checkCallbackUrl('http://0x7f.1/x', { allowPrivate: false, resolve }));
    expect((await checkCallbackUrl('http://93.184.216.34/x', { allowPrivate: false, resolve })).hostname).toBe('93.184.216.34');
    expect((await checkCallbackUrl('http://[2606:4700::1111]/x', { allowPrivate: false, resolve })).hostname).toBe('[2606:4700::1111]');
  });

  it('with allowPrivate accepts loopback and private hosts', async () => {
    expect((await checkCallbackUrl('http://127.0.0.1:1234/x', { allowPrivate: true })).port).toBe('1234');
    expect((await checkCallbackUrl('http://localhost:1234/x', { allowPrivate: true })).hostname).toBe('localhost');
    expect((await checkCallbackUrl('http://db.internal/x', { allowPrivate: true, resolve: resolvesTo('10.0.0.5') })).hostname).toBe('db.internal');
  });
});
