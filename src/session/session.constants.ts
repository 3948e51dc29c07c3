/** Injection token of the module's `SessionRuntime` (internal). */
export const SESSION_RUNTIME = Symbol('nestjs-llm-kit:SESSION_RUNTIME');

/** The `Clear-Site-Data` value sent on logout (OWASP: drop cached pages, cookies and storage). */
export const CLEAR_SITE_DATA = '"cache", "cookies", "storage"';
