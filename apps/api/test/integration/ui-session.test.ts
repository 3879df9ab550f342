import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCredentials } from '../../src/credentials.js';
import { startApiHarness, type ApiHarness } from '../harness.js';

/** The dashboard's sign-in (/ui/session) and the files of /ui, on the real app and Redis. */
let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function signIn(harness: ApiHarness, key: string) {
  const res = await harness.app.inject({ method: 'POST', url: '/ui/session', payload: { api_key: key } });
  expect(res.statusCode).toBe(201);
  const cookie = res.cookies.find((c) => c.name === 'celerity_session')!;
  return { res, cookie, csrf: res.json().csrf_token as string, headers: { cookie: `celerity_session=${cookie.value}` } };
}

describe('dashboard sessions', () => {
  it('exchanges a known API key for an HttpOnly, SameSite=Strict cookie that acts as that key; an unknown key gets none', async () => {
    h = await startApiHarness({ API_KEYS: 'ops-key' });
    const bad = await h.app.inject({ method: 'POST', url: '/ui/session', payload: { api_key: 'guess' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['set-cookie']).toBeUndefined();

    const { res, cookie, headers } = await signIn(h, 'ops-key');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie.value).not.toContain('ops-key');
    expect(res.json()).toMatchObject({ auth: true, role: 'admin' });
    // the key itself is not in Redis either: the session is found by a digest of the cookie
    const stored = await h.redis.keys(`${h.keys.prefix}ui-session:*`);
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toContain(cookie.value);
    expect(await h.redis.get(stored[0]!)).not.toContain('ops-key');

    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/ui/session', headers })).json()).toMatchObject({ auth: true, role: 'admin' });
    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers: { cookie: 'celerity_session=forged' } })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/ui/session' })).statusCode).toBe(401);
  });

  it('refuses a change without the X-CSRF-Token of the session, and accepts it with', async () => {
    h = await startApiHarness({ API_KEYS: 'ops-key' });
    const { headers, csrf } = await signIn(h, 'ops-key');
    const without = await h.app.inject({ method: 'POST', url: '/tasks', headers, payload: { task: 'demo.echo' } });
    expect(without.statusCode).toBe(403);
    expect(without.json().detail).toContain('x-csrf-token');
    const wrong = await h.app.inject({ method: 'POST', url: '/tasks', headers: { ...headers, 'x-csrf-token': `${csrf}x` }, payload: { task: 'demo.echo' } });
    expect(wrong.statusCode).toBe(403);
    const right = await h.app.inject({ method: 'POST', url: '/tasks', headers: { ...headers, 'x-csrf-token': csrf }, payload: { task: 'demo.echo' } });
    expect(right.statusCode).toBe(202);
  });

  it('a session of a key that is not an admin key reads but changes nothing, CSRF token or not', async () => {
    h = await startApiHarness({ API_KEYS: 'reader-key', ADMIN_API_KEYS: 'admin-key' });
    const { res, headers, csrf } = await signIn(h, 'reader-key');
    expect(res.json().role).toBe('read');
    expect((await h.app.inject({ method: 'GET', url: '/dead-letters', headers })).statusCode).toBe(200);
    const refused = await h.app.inject({ method: 'DELETE', url: '/dead-letters', headers: { ...headers, 'x-csrf-token': csrf } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('read-only') });
    // the key itself still works on the API as before: read-only applies to its dashboard session
    expect((await h.app.inject({ method: 'POST', url: '/tasks', headers: { 'x-api-key': 'reader-key' }, payload: { task: 'demo.echo' } })).statusCode).toBe(202);
    expect((await signIn(h, 'admin-key')).res.json().role).toBe('admin');
  });

  it('sign-out ends the session on the server and clears the cookie', async () => {
    h = await startApiHarness({ API_KEYS: 'ops-key' });
    const { headers, csrf } = await signIn(h, 'ops-key');
    expect((await h.app.inject({ method: 'DELETE', url: '/ui/session', headers })).statusCode).toBe(403); // CSRF-safe too
    const out = await h.app.inject({ method: 'DELETE', url: '/ui/session', headers: { ...headers, 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'celerity_session')).toMatchObject({ value: '', maxAge: 0 });
    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers })).statusCode).toBe(401);
    expect(await h.redis.keys(`${h.keys.prefix}ui-session:*`)).toEqual([]);
  });

  it('a session ends with its key: rotated out, the cookie opens nothing', async () => {
    const credentials = createCredentials(['old-key', 'kept-key']);
    h = await startApiHarness({ API_KEYS: 'old-key,kept-key' }, { credentials });
    const old = await signIn(h, 'old-key');
    const kept = await signIn(h, 'kept-key');
    credentials.rotate(['kept-key', 'new-key']); // as API_KEYS_FILE + SIGHUP does (security.test.ts)
    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers: old.headers })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/tasks', headers: kept.headers })).statusCode).toBe(200);
  });

  it('without API keys (loopback) no sign-in is needed: the session says auth is off', async () => {
    h = await startApiHarness();
    expect((await h.app.inject({ method: 'GET', url: '/ui/session' })).json()).toEqual({ auth: false, role: 'admin', csrf_token: null, expires_at: null });
    const res = await h.app.inject({ method: 'POST', url: '/ui/session', payload: { api_key: 'anything' } });
    expect(res.statusCode).toBe(201);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('the files of /ui', () => {
  it('serves the built page without a key, compressed, under a CSP that keeps it to its own origin', async () => {
    h = await startApiHarness({ API_KEYS: 'ops-key' });
    expect((await h.app.inject({ method: 'GET', url: '/ui' })).headers.location).toBe('/ui/');
    const page = await h.app.inject({ method: 'GET', url: '/ui/', headers: { 'accept-encoding': 'br' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-encoding']).toBe('br');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['cache-control']).toBe('no-cache');
    const plain = await h.app.inject({ method: 'GET', url: '/ui/' });
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(plain.body)?.[1];
    expect(script).toBeDefined();
    const asset = await h.app.inject({ method: 'GET', url: script!, headers: { 'accept-encoding': 'gzip' } });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(asset.headers['cache-control']).toContain('immutable');
    // no CDN: every script and stylesheet the page loads is its own
    expect(plain.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    // only the built files are public: anything else under /ui is an unknown route (a key first, then 404)
    expect((await h.app.inject({ method: 'GET', url: '/ui/nope.js' })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/ui/nope.js', headers: { 'x-api-key': 'ops-key' } })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/tasks' })).statusCode).toBe(401);
  });

  it('says how to build the dashboard when it is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'celerity-ui-empty-'));
    try {
      h = await startApiHarness({}, { uiDir: empty });
      const res = await h.app.inject({ method: 'GET', url: '/ui' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'UI_NOT_BUILT', detail: expect.stringContaining('npm run build') });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
