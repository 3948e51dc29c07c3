import { createHash, timingSafeEqual } from 'node:crypto';

/** One of the sample's users. Real apps check a password hash; this is a demo. */
export interface DemoUser {
  id: string;
  name: string;
  email: string;
  password: string;
}

/**
 * The sample's users, by username. A `Map`: a username from the request body is looked up as
 * an own entry only (`toString`, `__proto__`, `constructor`... are nobody).
 */
export const DEMO_USERS: ReadonlyMap<string, DemoUser> = new Map([
  ['alice', { id: 'u-alice', name: 'Alice', email: 'alice@example.com', password: 'wonderland' }],
  ['bob', { id: 'u-bob', name: 'Bob', email: 'bob@example.com', password: 'builder' }],
]);

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * The user whose username and password these are, or undefined. Both must be strings (a
 * missing password is no password); the password is compared in constant time.
 */
export function checkDemoUser(username: unknown, password: unknown): DemoUser | undefined {
  if (typeof username !== 'string' || typeof password !== 'string') return undefined;
  const user = DEMO_USERS.get(username);
  return user && timingSafeEqual(sha256(user.password), sha256(password)) ? user : undefined;
}

/** A demo user by id (the session's `userId`), or undefined. */
export function demoUserById(userId: unknown): DemoUser | undefined {
  return [...DEMO_USERS.values()].find((user) => user.id === userId);
}
