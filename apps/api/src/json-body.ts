import { BodyTooDeepError } from '@celerity/core';
import type { FastifyRequest } from 'fastify';

/**
 * Whether a JSON text nests arrays and objects deeper than `limit`. One pass over the characters,
 * skipping strings: it runs before JSON.parse, so a body nested thousands deep never reaches the
 * recursive code after it (validation, fingerprinting, stringify), where it would overflow the stack.
 */
export function exceedsJsonDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

type ParserDone = (err: Error | null, body?: unknown) => void;
type StringParser = (request: FastifyRequest, body: string, done: ParserDone) => void;

/** application/json bodies: Fastify's own parser (prototype-poisoning checks kept) behind the depth check. */
export function depthCheckedJsonParser(parse: StringParser, maxDepth: number): StringParser {
  return (request, body, done) => {
    if (exceedsJsonDepth(body, maxDepth)) {
      done(new BodyTooDeepError(`the JSON body nests deeper than ${maxDepth} levels (BODY_MAX_DEPTH)`));
      return;
    }
    parse(request, body, done);
  };
}
