import { describe, expect, it } from 'vitest';
import { RequestQueue, type QueueItem } from '../../lib/serve/queue.js';

interface Req extends QueueItem {
  id: string;
}
const req = (id: string, rows = 1, priority = 0, key = 'a'): Req => ({ id, rows, priority, key, seq: 0, queued: false });
const ids = (xs: Req[]) => xs.map((x) => x.id);

describe('RequestQueue', () => {
  it('batches requests only with others of the same shape key', () => {
    const q = new RequestQueue<Req>();
    for (const r of [req('a1'), req('b1', 1, 0, 'b'), req('a2'), req('b2', 1, 0, 'b'), req('a3')]) q.push(r);
    expect(q.size).toBe(5);
    expect(q.rows('a')).toBe(3);
    expect(q.head()!.id).toBe('a1');
    expect(ids(q.take('a', 8))).toEqual(['a1', 'a2', 'a3']);
    expect(q.head()!.id).toBe('b1');
    expect(ids(q.take('b', 8))).toEqual(['b1', 'b2']);
    expect(q.size).toBe(0);
    expect(q.head()).toBeUndefined();
  });

  it('orders by priority across keys, then by arrival', () => {
    const q = new RequestQueue<Req>();
    for (const r of [req('low', 1, -1), req('mid1', 1, 0, 'b'), req('hi', 1, 5, 'c'), req('mid2', 1, 0)]) q.push(r);
    expect(q.head()!.id).toBe('hi');
    q.take('c', 4);
    expect(q.head()!.id).toBe('mid1');
    q.take('b', 4);
    expect(ids(q.take('a', 4))).toEqual(['mid2', 'low']);
  });

  it('never splits a request: one that does not fit waits while smaller ones behind it go', () => {
    const q = new RequestQueue<Req>();
    for (const r of [req('r3', 3), req('r4', 4), req('r1', 1), req('r2', 2)]) q.push(r);
    expect(ids(q.take('a', 5))).toEqual(['r3', 'r1']);
    expect(ids(q.take('a', 5))).toEqual(['r4']);
    expect(ids(q.take('a', 5))).toEqual(['r2']);
  });

  it('removes cancelled requests in place and keeps its counts right through compaction', () => {
    const q = new RequestQueue<Req>();
    const all = Array.from({ length: 200 }, (_, i) => req(`r${i}`));
    for (const r of all) q.push(r);
    for (let i = 0; i < 200; i += 2) expect(q.remove(all[i])).toBe(true);
    expect(q.remove(all[0])).toBe(false);
    expect(q.size).toBe(100);
    expect(q.rows('a')).toBe(100);
    const got: string[] = [];
    while (q.size) got.push(...ids(q.take(q.head()!.key, 7)));
    expect(got).toEqual(all.filter((_, i) => i % 2).map((r) => r.id));
    q.push(req('again'));
    expect(ids(q.drain())).toEqual(['again']);
    expect(q.size).toBe(0);
  });
});
