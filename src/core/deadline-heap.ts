/**
 * A deadline queue: a binary min-heap of entries keyed by an absolute time (`due`), with O(1) peek, O(log n) insert, and
 * O(log n) removal of any entry (each entry knows its slot). Pure and timer-free: its users (`timeout()`'s pending
 * calls, `bulkhead()`'s expiring waiters) arm one timer (an `Alarm` from waiters.ts) for the head; this structure
 * only keeps the order.
 */

/** What the heap stores: a deadline, an insertion number (ties fire oldest first) and the entry's slot. */
export interface DeadlineEntry {
  /** Absolute time on the policy's clock, ms. */
  due: number;
  /** Set by {@link DeadlineHeap.push}: insertion order, breaks ties between equal deadlines. */
  seq: number;
  /** Set by the heap: slot in the array while queued, -1 otherwise. */
  heapIndex: number;
}

/**
 * Min-heap of {@link DeadlineEntry} ordered by `(due, seq)`.
 *
 * When deadlines arrive in non-decreasing order (one `timeoutMs` for every call, the common case) an insert stops
 * after one comparison, and removing the newest entry (a call that settles at once) is O(1).
 *
 * @example
 * ```ts
 * const heap = new DeadlineHeap<DeadlineEntry>();
 * heap.push({ due: 100, seq: 0, heapIndex: -1 });
 * heap.peek()?.due; // 100
 * ```
 */
export class DeadlineHeap<E extends DeadlineEntry> {
  private readonly items: E[] = [];
  private nextSeq = 0;

  /** Entries queued now. */
  get size(): number {
    return this.items.length;
  }

  /** The entry with the earliest deadline (oldest first among equals), or undefined. */
  peek(): E | undefined {
    return this.items[0];
  }

  /** Inserts `e` (which must not be queued). */
  push(e: E): void {
    e.seq = this.nextSeq++;
    const i = this.items.length;
    this.items.push(e);
    e.heapIndex = i;
    this.up(i);
  }

  /** Removes and returns the head, or undefined when empty. */
  pop(): E | undefined {
    const head = this.items[0];
    if (head !== undefined) this.removeAt(0);
    return head;
  }

  /** Removes `e` if it is queued; returns whether it was. */
  remove(e: E): boolean {
    const i = e.heapIndex;
    if (i < 0 || this.items[i] !== e) return false;
    this.removeAt(i);
    return true;
  }

  private removeAt(i: number): void {
    const items = this.items;
    const gone = items[i]!;
    gone.heapIndex = -1;
    const last = items.pop()!;
    if (last === gone) return; // it was the last slot
    items[i] = last;
    last.heapIndex = i;
    // The moved entry may belong above or below slot i.
    if (i > 0 && before(last, items[(i - 1) >> 1]!)) this.up(i);
    else this.down(i);
  }

  private up(i: number): void {
    const items = this.items;
    const e = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!before(e, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    items[i] = e;
    e.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(items[r]!, items[l]!)) c = r;
      const child = items[c]!;
      if (!before(child, e)) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = e;
    e.heapIndex = i;
  }
}

function before(a: DeadlineEntry, b: DeadlineEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
