import { TooManyRequestsError } from '@celerity/core';
import type { FastifyRequest } from 'fastify';
import type { Credentials } from '../credentials.js';

export interface StreamLimits {
  /** event streams (SSE responses and WebSockets) one caller may hold open at once in this process */
  maxStreams: number;
  /** tasks one caller may follow at once in this process, over all its streams (an SSE stream follows one) */
  maxSubscriptions: number;
}

/** Why a stream was closed by the server: its watch token expired, or its credential was rotated out. */
export type RevokeReason = 'TOKEN_EXPIRED' | 'CREDENTIAL_REVOKED';

export interface StreamSlot {
  /** takes `count` more subscriptions; false (and nothing taken) when the caller's limit would be passed */
  subscribe(count?: number): boolean;
  unsubscribe(count?: number): void;
  /** gives back the stream and its subscriptions; safe to call more than once */
  release(): void;
}

interface OpenStream {
  caller: string;
  subscriptions: number;
  revoke: (reason: RevokeReason) => void;
  expiry?: NodeJS.Timeout;
}

/**
 * One home for what open event streams may hold: per caller (an API key, a watch token, or an address
 * when auth is off) at most `maxStreams` streams and `maxSubscriptions` followed tasks, counted in
 * this process (each replica counts its own). It also ends streams whose credential stops being
 * valid: a watch token's stream at the token's expiry, and every stream whose API key was rotated out
 * (a rotation also revokes every watch token, whose signing key derives from the key set).
 */
export function createStreamRegistry(limits: StreamLimits, credentials: Credentials) {
  const open = new Set<OpenStream>();
  const perCaller = new Map<string, { streams: number; subscriptions: number }>();

  const usage = (caller: string) => {
    let entry = perCaller.get(caller);
    if (!entry) perCaller.set(caller, (entry = { streams: 0, subscriptions: 0 }));
    return entry;
  };

  credentials.onRotate(() => {
    for (const stream of [...open]) {
      if (!stream.caller.startsWith('key:') || !credentials.isCurrent(stream.caller)) stream.revoke('CREDENTIAL_REVOKED');
    }
  });

  /** Throws if the caller cannot open one more stream now (HTTP 429 before any upgrade). */
  function assertRoom(request: FastifyRequest): void {
    if ((perCaller.get(request.caller)?.streams ?? 0) >= limits.maxStreams) {
      throw new TooManyRequestsError('TOO_MANY_STREAMS', `at most ${limits.maxStreams} open event streams per caller; close some first`, 5);
    }
  }

  return {
    assertRoom,

    /**
     * Takes a stream slot for the request's caller (throws TooManyRequestsError when none is free).
     * `revoke` is called once when the server must end the stream; the stream then calls release().
     */
    open(request: FastifyRequest, revoke: (reason: RevokeReason) => void): StreamSlot {
      assertRoom(request);
      const caller = request.caller;
      const counts = usage(caller);
      counts.streams += 1;
      let revoked = false;
      const stream: OpenStream = {
        caller,
        subscriptions: 0,
        revoke: (reason) => {
          if (revoked) return;
          revoked = true;
          revoke(reason);
        },
      };
      if (request.watchExpiresAt !== null) {
        // setTimeout holds at most ~24.8 days; a watch token lives a day at most
        stream.expiry = setTimeout(() => stream.revoke('TOKEN_EXPIRED'), Math.max(0, request.watchExpiresAt - Date.now()));
      }
      open.add(stream);
      let released = false;
      return {
        subscribe(count = 1) {
          if (released) return false;
          if (counts.subscriptions + count > limits.maxSubscriptions) return false;
          counts.subscriptions += count;
          stream.subscriptions += count;
          return true;
        },
        unsubscribe(count = 1) {
          const taken = Math.min(count, stream.subscriptions);
          stream.subscriptions -= taken;
          counts.subscriptions -= taken;
        },
        release() {
          if (released) return;
          released = true;
          clearTimeout(stream.expiry);
          open.delete(stream);
          counts.streams -= 1;
          counts.subscriptions -= stream.subscriptions;
          stream.subscriptions = 0;
          if (counts.streams === 0) perCaller.delete(caller);
        },
      };
    },

    /** What a caller holds now (tests, metrics). */
    usage: (caller: string) => ({ ...(perCaller.get(caller) ?? { streams: 0, subscriptions: 0 }) }),
  };
}
export type StreamRegistry = ReturnType<typeof createStreamRegistry>;
