// The batcher's waiting room: requests grouped by shape key, ordered by priority (higher first), then by arrival.
// Removal (a timeout, an abort, a request taken into a batch) only marks an entry; dead entries are skipped and
// compacted away later, so cancelling is O(1) even with thousands queued.

/** What the queue needs of a request. `queued` is owned by the queue. */
export interface QueueItem {
  /** Batch rows the request brings. */
  readonly rows: number;
  /** Requests batch only with others of the same key (their non-batch dimensions). */
  readonly key: string;
  readonly priority: number;
  /** Arrival order, set by push(). */
  seq: number;
  queued: boolean;
}

interface Level<T> {
  priority: number;
  items: T[];
  /** Index of the first entry that may still be live. */
  head: number;
}

interface Group<T> {
  /** Sorted by priority, highest first. */
  levels: Level<T>[];
  rows: number;
  count: number;
}

/**
 * A priority queue of batchable requests, grouped by key.
 * @example
 * const q = new RequestQueue<Req>(); q.push(req); const batch = q.take(q.head()!.key, 32);
 */
export class RequestQueue<T extends QueueItem> {
  readonly #groups = new Map<string, Group<T>>();
  #size = 0;
  #seq = 0;

  /** Live requests. */
  get size(): number {
    return this.#size;
  }

  /** Live rows waiting under `key`. @example q.rows(req.key) */
  rows(key: string): number {
    return this.#groups.get(key)?.rows ?? 0;
  }

  /** Adds a request behind every other of its priority. @example q.push(req) */
  push(item: T): void {
    let g = this.#groups.get(item.key);
    if (!g) this.#groups.set(item.key, (g = { levels: [], rows: 0, count: 0 }));
    let i = 0;
    while (i < g.levels.length && g.levels[i].priority > item.priority) i++;
    if (i === g.levels.length || g.levels[i].priority !== item.priority) g.levels.splice(i, 0, { priority: item.priority, items: [], head: 0 });
    item.seq = this.#seq++;
    item.queued = true;
    g.levels[i].items.push(item);
    g.rows += item.rows;
    g.count++;
    this.#size++;
  }

  /** Removes a queued request; false when it was not queued. @example if (q.remove(req)) req.reject(timeoutError) */
  remove(item: T): boolean {
    if (!item.queued) return false;
    item.queued = false;
    const g = this.#groups.get(item.key)!;
    g.rows -= item.rows;
    g.count--;
    this.#size--;
    if (g.count === 0) this.#groups.delete(item.key);
    return true;
  }

  /** The request that goes next: the highest priority, then the oldest, over every key. @example q.head()?.key */
  head(): T | undefined {
    let best: T | undefined;
    for (const g of this.#groups.values()) {
      const first = this.#first(g);
      if (first && (!best || first.priority > best.priority || (first.priority === best.priority && first.seq < best.seq))) best = first;
    }
    return best;
  }

  /**
   * Removes and returns requests of `key` in priority order, as many as fit in `maxRows` rows. A request that does
   * not fit is left for a later batch (requests are never split) while smaller ones behind it may still go.
   * @example const batch = q.take(head.key, 32);
   */
  take(key: string, maxRows: number): T[] {
    const g = this.#groups.get(key);
    const out: T[] = [];
    if (!g) return out;
    let room = maxRows;
    for (const level of g.levels) {
      for (let i = level.head; i < level.items.length && room > 0; i++) {
        const item = level.items[i];
        if (!item.queued || item.rows > room) continue;
        this.remove(item);
        out.push(item);
        room -= item.rows;
      }
      if (room === 0) break;
    }
    this.#compact(g);
    return out;
  }

  /** Removes and returns every live request. @example for (const r of q.drain()) r.reject(disposedError) */
  drain(): T[] {
    const out: T[] = [];
    for (const g of this.#groups.values()) for (const l of g.levels) for (let i = l.head; i < l.items.length; i++) if (l.items[i].queued) out.push(l.items[i]);
    out.sort((a, b) => a.seq - b.seq);
    for (const item of out) this.remove(item);
    return out;
  }

  #first(g: Group<T>): T | undefined {
    for (const level of g.levels) {
      while (level.head < level.items.length && !level.items[level.head].queued) level.head++;
      if (level.head < level.items.length) return level.items[level.head];
    }
    return undefined;
  }

  /** Drops dead entries once they are half a level, and empty levels. */
  #compact(g: Group<T>): void {
    for (const level of g.levels) {
      while (level.head < level.items.length && !level.items[level.head].queued) level.head++;
      if (level.head > 32 && level.head * 2 > level.items.length) {
        level.items = level.items.slice(level.head);
        level.head = 0;
      }
    }
    g.levels = g.levels.filter((l) => l.head < l.items.length);
  }
}
