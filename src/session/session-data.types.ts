// Typed session data: augment `SessionData` in your app to add your own fields, e.g.
//   declare module 'express-session' { interface SessionData { theme?: 'dark' | 'light' } }
declare module 'express-session' {
  interface SessionData {
    /** The logged-in user; `resolveUserId(req)` and the other modules read it. */
    userId?: string;
  }
}

export {};
