import { randomBytes } from 'node:crypto';

/** A fresh NAMESPACE per test: its queues and Redis keys collide with nothing else on the shared services. */
export function testNamespace(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
