import type { SessionStatsSnapshot } from '../common/stats-shapes';
import type {
  SessionBackend,
  SessionCounterChange,
  SessionFields,
  SessionRef,
} from './session-backend.interface';
import { LIST_FIELDS } from './redis-session.backend';

interface Entry {
  fields: SessionFields;
  expireAtMs: number;
}

/**
 * The embedded store used without Redis: the same rules as the Redis backend, in one
 * process, bounded to `maxSessions` (the least recently written go first).
 */
export class MemorySessionBackend implements SessionBackend {
  private readonly sessions = new Map<string, Entry>();
  /** tag -> (idHash -> created ms) */
  private readonly indexes = new Map<string, Map<string, number>>();
  private readonly active = new Map<string, number>();
  private readonly totals = { created: 0, destroyed: 0, revoked: 0 };

  constructor(
    private readonly maxSessions: number,
    private readonly clock: () => number,
  ) {}

  private live(ref: SessionRef): Entry | undefined {
    const key = `${ref.tag}:${ref.idHash}`;
    const entry = this.sessions.get(key);
    if (entry && entry.expireAtMs <= this.clock()) {
      this.sessions.delete(key);
      return undefined;
    }
    return entry;
  }

  private index(tag: string): Map<string, number> {
    let index = this.indexes.get(tag);
    if (!index) this.indexes.set(tag, (index = new Map()));
    return index;
  }

  private put(ref: SessionRef, entry: Entry): void {
    const key = `${ref.tag}:${ref.idHash}`;
    this.sessions.delete(key); // re-insert: Map order is write order
    this.sessions.set(key, entry);
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
      const [tag, idHash] = oldest.split(':') as [string, string];
      this.indexes.get(tag)?.delete(idHash);
    }
  }

  read(ref: SessionRef): Promise<SessionFields> {
    const entry = this.live(ref);
    return Promise.resolve(entry ? { ...entry.fields } : {});
  }

  create(
    ref: SessionRef,
    fields: SessionFields,
    expireAtMs: number,
    cap: number,
    _indexExpireAtMs?: number,
  ): Promise<string[]> {
    this.put(ref, { fields: { ...fields }, expireAtMs });
    const index = this.index(ref.tag);
    index.set(ref.idHash, Number(fields.c ?? 0));
    const live = [...index.entries()]
      .filter(([idHash]) => this.live({ tag: ref.tag, idHash }) || !index.delete(idHash))
      .sort((a, b) => a[1] - b[1]);
    const evicted: string[] = [];
    for (const [idHash] of live) {
      if (cap <= 0 || live.length - evicted.length <= cap) break;
      if (idHash === ref.idHash) continue;
      this.sessions.delete(`${ref.tag}:${idHash}`);
      index.delete(idHash);
      evicted.push(idHash);
    }
    return Promise.resolve(evicted);
  }

  patch(ref: SessionRef, set: SessionFields, del: string[], expireAtMs: number): Promise<boolean> {
    const entry = this.live(ref);
    if (!entry) return Promise.resolve(false);
    Object.assign(entry.fields, set);
    del.forEach((name) => delete entry.fields[name]);
    entry.expireAtMs = expireAtMs;
    return Promise.resolve(true);
  }

  remove(ref: SessionRef): Promise<boolean> {
    const existed = this.live(ref) !== undefined;
    this.sessions.delete(`${ref.tag}:${ref.idHash}`);
    this.indexes.get(ref.tag)?.delete(ref.idHash);
    return Promise.resolve(existed);
  }

  list(tag: string): Promise<{ idHash: string; fields: SessionFields }[]> {
    const index = this.indexes.get(tag) ?? new Map<string, number>();
    const out: { idHash: string; fields: SessionFields }[] = [];
    for (const [idHash] of [...index.entries()].sort((a, b) => a[1] - b[1])) {
      const entry = this.live({ tag, idHash });
      if (!entry) {
        index.delete(idHash);
        continue;
      }
      const fields: SessionFields = {};
      LIST_FIELDS.forEach((name) => (fields[name] = entry.fields[name] ?? ''));
      out.push({ idHash, fields });
    }
    return Promise.resolve(out);
  }

  removeAll(tag: string, exceptIdHash?: string): Promise<string[]> {
    const index = this.indexes.get(tag) ?? new Map<string, number>();
    const removed: string[] = [];
    for (const idHash of [...index.keys()]) {
      if (idHash === exceptIdHash) continue;
      if (this.live({ tag, idHash })) removed.push(idHash);
      this.sessions.delete(`${tag}:${idHash}`);
      index.delete(idHash);
    }
    return Promise.resolve(removed);
  }

  count(change: SessionCounterChange): Promise<void> {
    this.totals.created += change.created ?? 0;
    this.totals.destroyed += change.destroyed ?? 0;
    this.totals.revoked += change.revoked ?? 0;
    change.activeUntil?.forEach(([handle, at]) => {
      this.active.delete(handle); // re-insert: the oldest entries go first when over the bound
      this.active.set(handle, at);
    });
    while (this.active.size > this.maxSessions)
      this.active.delete(this.active.keys().next().value as string);
    change.inactive?.forEach((handle) => this.active.delete(handle));
    return Promise.resolve();
  }

  counters(nowMs: number): Promise<SessionStatsSnapshot> {
    for (const [handle, at] of this.active) if (at < nowMs) this.active.delete(handle);
    return Promise.resolve({ active: this.active.size, ...this.totals });
  }

  resetCounters(): Promise<void> {
    Object.assign(this.totals, { created: 0, destroyed: 0, revoked: 0 });
    return Promise.resolve();
  }
}
