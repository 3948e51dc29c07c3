import { LRUCache } from 'lru-cache';
import type { SessionStatsSnapshot } from '../common/stats-shapes';
import type {
  SessionBackend,
  SessionCounterChange,
  SessionFields,
  SessionRef,
} from './session-backend.interface';
import { LIST_FIELDS } from './redis-session.backend';

interface Entry {
  fields: Map<string, string>;
  expireAtMs: number;
}

const keyOf = (ref: SessionRef) => `${ref.tag}:${ref.idHash}`;

function plain(fields: Map<string, string>): SessionFields {
  const out: SessionFields = Object.create(null) as SessionFields;
  for (const [name, value] of fields) out[name] = value;
  return out;
}

/**
 * The embedded store used without Redis: the same rules as the Redis backend, in one
 * process, bounded to `maxSessions` (the least recently used go first). The per-user index
 * is pruned with its sessions (evicted, expired or removed), so it is bounded too.
 */
export class MemorySessionBackend implements SessionBackend {
  private readonly sessions: LRUCache<string, Entry>;
  /** tag -> (idHash -> created ms); an entry lives exactly as long as its session. */
  private readonly indexes = new Map<string, Map<string, number>>();
  /** handle -> expiry (ms); the least recently counted go first past `maxSessions`. */
  private readonly active: LRUCache<string, number>;
  private readonly totals = { created: 0, destroyed: 0, revoked: 0 };

  constructor(
    maxSessions: number,
    private readonly clock: () => number,
  ) {
    this.active = new LRUCache<string, number>({ max: maxSessions });
    this.sessions = new LRUCache<string, Entry>({
      max: maxSessions,
      dispose: (_entry, key, reason) => {
        if (reason !== 'set') this.unindex(key);
      },
    });
  }

  private unindex(key: string): void {
    const [tag, idHash] = key.split(':') as [string, string];
    const index = this.indexes.get(tag);
    if (!index) return;
    index.delete(idHash);
    if (index.size === 0) this.indexes.delete(tag);
  }

  private live(ref: SessionRef): Entry | undefined {
    const key = keyOf(ref);
    const entry = this.sessions.get(key);
    if (entry && entry.expireAtMs <= this.clock()) {
      this.sessions.delete(key);
      return undefined;
    }
    return entry;
  }

  read(ref: SessionRef): Promise<SessionFields> {
    const entry = this.live(ref);
    return Promise.resolve(entry ? plain(entry.fields) : {});
  }

  create(
    ref: SessionRef,
    fields: SessionFields,
    expireAtMs: number,
    cap: number,
    _indexExpireAtMs?: number,
  ): Promise<string[]> {
    this.sessions.set(keyOf(ref), { fields: new Map(Object.entries(fields)), expireAtMs });
    if (cap < 0) return Promise.resolve([]);
    let index = this.indexes.get(ref.tag);
    if (!index) this.indexes.set(ref.tag, (index = new Map()));
    index.set(ref.idHash, Number(fields.c ?? 0));
    const live = [...index.entries()]
      .filter(([idHash]) => this.live({ tag: ref.tag, idHash }))
      .sort((a, b) => a[1] - b[1]);
    const evicted: string[] = [];
    for (const [idHash] of live) {
      if (cap <= 0 || live.length - evicted.length <= cap) break;
      if (idHash === ref.idHash) continue;
      this.sessions.delete(`${ref.tag}:${idHash}`);
      evicted.push(idHash);
    }
    return Promise.resolve(evicted);
  }

  patch(ref: SessionRef, set: SessionFields, del: string[], expireAtMs: number): Promise<boolean> {
    const entry = this.live(ref);
    if (!entry) return Promise.resolve(false);
    for (const [name, value] of Object.entries(set)) entry.fields.set(name, value);
    del.forEach((name) => entry.fields.delete(name));
    entry.expireAtMs = expireAtMs;
    return Promise.resolve(true);
  }

  remove(ref: SessionRef): Promise<boolean> {
    const existed = this.live(ref) !== undefined;
    this.sessions.delete(keyOf(ref));
    return Promise.resolve(existed);
  }

  list(tag: string): Promise<{ idHash: string; fields: SessionFields }[]> {
    const index = this.indexes.get(tag);
    const out: { idHash: string; fields: SessionFields }[] = [];
    for (const [idHash] of [...(index?.entries() ?? [])].sort((a, b) => a[1] - b[1])) {
      const entry = this.live({ tag, idHash });
      if (!entry) continue;
      const fields: SessionFields = Object.create(null) as SessionFields;
      LIST_FIELDS.forEach((name) => (fields[name] = entry.fields.get(name) ?? ''));
      out.push({ idHash, fields });
    }
    return Promise.resolve(out);
  }

  removeAll(tag: string, exceptIdHash?: string): Promise<string[]> {
    const removed: string[] = [];
    for (const idHash of [...(this.indexes.get(tag)?.keys() ?? [])]) {
      if (idHash === exceptIdHash) continue;
      if (this.live({ tag, idHash })) removed.push(idHash);
      this.sessions.delete(`${tag}:${idHash}`);
    }
    return Promise.resolve(removed);
  }

  scan(): Promise<SessionRef[]> {
    const refs: SessionRef[] = [];
    for (const key of [...this.sessions.keys()]) {
      const [tag, idHash] = key.split(':') as [string, string];
      if (this.live({ tag, idHash })) refs.push({ tag, idHash });
    }
    return Promise.resolve(refs);
  }

  /** How many user slots the index holds (bounded by the sessions kept). */
  indexedUsers(): number {
    return this.indexes.size;
  }

  count(change: SessionCounterChange): Promise<void> {
    this.totals.created += change.created ?? 0;
    this.totals.destroyed += change.destroyed ?? 0;
    this.totals.revoked += change.revoked ?? 0;
    change.activeUntil?.forEach(([handle, at]) => this.active.set(handle, at));
    change.inactive?.forEach((handle) => this.active.delete(handle));
    return Promise.resolve();
  }

  counters(nowMs: number): Promise<SessionStatsSnapshot> {
    for (const [handle, at] of [...this.active.entries()])
      if (at < nowMs) this.active.delete(handle);
    return Promise.resolve({ active: this.active.size, ...this.totals });
  }

  resetCounters(): Promise<void> {
    Object.assign(this.totals, { created: 0, destroyed: 0, revoked: 0 });
    return Promise.resolve();
  }
}
