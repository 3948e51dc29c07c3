import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SessionRef } from './session-backend.interface';
import { refOf } from './session-id';

/** A session id read from a cookie whose signature verified, and where its session lives. */
export interface VerifiedSessionId {
  id: string;
  ref: SessionRef;
}

/** The attributes of the `Set-Cookie` line, as `req.session.cookie` holds them. */
export interface SessionCookieAttributes {
  path: string;
  expires?: Date | null | false;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: string | boolean;
  domain?: string;
}

// Every request verifies its cookie; remembering the cookies that verified saves the HMAC.
// Only values whose signature matched get in, so a forged value never does.
const VERIFIED_CACHE_SIZE = 4096;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** A cookie value URI-decoded when it can be, as the `cookie` package decodes it. */
export function decodeCookieValue(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The raw (still URI-encoded) value of the first cookie called `name` in a `Cookie`
 * header, split as the `cookie` package (0.7, which `express-session` uses) splits it:
 * pairs on `;`, blanks trimmed, surrounding quotes dropped. Scans for the one name
 * instead of building an object of every cookie.
 */
export function rawCookieValue(header: string, name: string): string | undefined {
  const length = header.length;
  let index = 0;
  while (index < length) {
    const eq = header.indexOf('=', index);
    if (eq === -1) return undefined;
    let end = header.indexOf(';', index);
    if (end === -1) end = length;
    else if (eq > end) {
      index = header.lastIndexOf(';', eq - 1) + 1; // a pair without '=': skip it
      continue;
    }
    let keyStart = index;
    while (keyStart < eq && isSpace(header.charCodeAt(keyStart))) keyStart++;
    let keyEnd = eq;
    while (keyEnd > keyStart && isSpace(header.charCodeAt(keyEnd - 1))) keyEnd--;
    if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
      let valueStart = eq + 1;
      while (valueStart < end && isSpace(header.charCodeAt(valueStart))) valueStart++;
      let valueEnd = end;
      while (valueEnd > valueStart && isSpace(header.charCodeAt(valueEnd - 1))) valueEnd--;
      if (header.charCodeAt(valueStart) === 0x22 && header.charCodeAt(valueEnd - 1) === 0x22) {
        valueStart++;
        valueEnd--;
      }
      return header.slice(valueStart, valueEnd);
    }
    index = end + 1;
  }
  return undefined;
}

function mac(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '');
}

const SAME_SITE: Record<string, string> = { lax: 'Lax', strict: 'Strict', none: 'None' };

/**
 * Reads and writes the session cookie in `express-session`'s format, so cookies issued
 * before stay valid: `s:<id>.<signature>`, URI-encoded, the signature being the
 * HMAC-SHA256 of the id in base64 without padding (as `cookie-signature`). Secrets rotate:
 * the first signs, every one verifies.
 *
 * @example
 * const codec = new SessionCookieCodec('sid', [process.env.SESSION_SECRET!]);
 * const found = codec.read(req.headers.cookie); // { id, ref } or undefined
 */
export class SessionCookieCodec {
  private readonly verified = new Map<string, VerifiedSessionId>();

  constructor(
    readonly name: string,
    private readonly secrets: readonly string[],
  ) {}

  /** The session id of the request's cookie: undefined unless signed by us and one of our ids. */
  read(header: string | undefined): VerifiedSessionId | undefined {
    if (!header) return undefined;
    const raw = rawCookieValue(header, this.name);
    if (raw === undefined) return undefined;
    const known = this.verified.get(raw);
    if (known) return known;
    const id = this.unsign(decodeCookieValue(raw));
    const ref = id === undefined ? undefined : refOf(id);
    if (id === undefined || !ref) return undefined;
    const found = { id, ref };
    if (this.verified.size >= VERIFIED_CACHE_SIZE)
      this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(raw, found);
    return found;
  }

  /** The `Set-Cookie` line that hands `id` to the browser. */
  serialize(id: string, cookie: SessionCookieAttributes): string {
    let line = `${this.name}=${encodeURIComponent(`s:${id}.${mac(id, this.secrets[0]!)}`)}`;
    if (cookie.domain) line += `; Domain=${cookie.domain}`;
    line += `; Path=${cookie.path}`;
    if (cookie.expires) line += `; Expires=${cookie.expires.toUTCString()}`;
    if (cookie.httpOnly) line += '; HttpOnly';
    if (cookie.secure) line += '; Secure';
    const sameSite = cookie.sameSite === true ? 'strict' : cookie.sameSite;
    if (typeof sameSite === 'string' && SAME_SITE[sameSite.toLowerCase()])
      line += `; SameSite=${SAME_SITE[sameSite.toLowerCase()]}`;
    return line;
  }

  private unsign(value: string): string | undefined {
    if (!value.startsWith('s:')) return undefined;
    const dot = value.lastIndexOf('.');
    if (dot < 2) return undefined;
    const id = value.slice(2, dot);
    const given = Buffer.from(value.slice(dot + 1));
    for (const secret of this.secrets) {
      const expected = Buffer.from(mac(id, secret));
      if (expected.length === given.length && timingSafeEqual(expected, given)) return id;
    }
    return undefined;
  }
}
