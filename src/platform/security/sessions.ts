import crypto from 'node:crypto';
import type { ApiKey } from './api-keys';

/**
 * Signed-in browsers: a browser cannot send a bearer key of its own accord, so a person signs in once
 * with a key and gets an opaque random token in an HttpOnly cookie, mapped here to that key. The
 * cookie never carries the key itself, so a leaked cookie dies with its session (or a restart).
 */
export class Sessions {
  private readonly sessions = new Map<string, { key: ApiKey; expiresAt: number }>();

  constructor(
    /** The cookie's name. */
    readonly cookie: string,
    readonly seconds = 8 * 3600,
  ) {}

  /** A new session for `key`; returns its token. */
  open(key: ApiKey): string {
    const now = Date.now();
    for (const [t, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(t);
    const token = crypto.randomBytes(32).toString('base64url');
    this.sessions.set(token, { key, expiresAt: now + this.seconds * 1000 });
    return token;
  }

  close(token: string | undefined): void {
    if (token !== undefined) this.sessions.delete(token);
  }

  /** The key a live session was opened with; undefined for none, an unknown or an expired one. */
  keyOf(token: string | undefined): ApiKey | undefined {
    const s = token === undefined ? undefined : this.sessions.get(token);
    return s && s.expiresAt > Date.now() ? s.key : undefined;
  }

  /** The session token a request's `Cookie` header carries, if any. */
  tokenIn(cookieHeader: string | undefined): string | undefined {
    for (const part of (cookieHeader ?? '').split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === this.cookie) return value.join('=');
    }
    return undefined;
  }

  /**
   * The `Set-Cookie` value that hands `token` to the browser for `path`. HttpOnly: page scripts never
   * read it. SameSite=Strict: no other site's page makes the browser send it.
   */
  setCookie(token: string, path: string): string {
    return `${this.cookie}=${token}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=${this.seconds}`;
  }

  /** The `Set-Cookie` value that makes the browser forget its session. */
  clearCookie(path: string): string {
    return `${this.cookie}=; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}
