/** What an {@link IndexedHeap} needs to find an entry again: the heap it is in and its slot there. */
export interface HeapSlot<T extends HeapSlot<T>> {
  heap: IndexedHeap<T> | undefined;
  pos: number;
}

/**
 * A binary min-heap whose entries remember their slot, so any entry can be removed or re-sorted
 * in O(log n) (a job leaving the queue, a lease renewed) without searching for it.
 */
export class IndexedHeap<T extends HeapSlot<T>> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  /** `before(a, b)`: true when `a` must come out before `b`. */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  /** The first entry, or undefined when empty. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    item.heap = this;
    item.pos = this.#items.length;
    this.#items.push(item);
    this.#up(item.pos);
  }

  /** Remove and return the first entry. */
  pop(): T | undefined {
    const top = this.#items[0];
    if (top) this.remove(top);
    return top;
  }

  /** Take `item` out (it must be in this heap). */
  remove(item: T): void {
    const i = item.pos;
    const last = this.#items.pop()!;
    if (last !== item) {
      this.#items[i] = last;
      last.pos = i;
      this.#down(i);
      this.#up(last.pos);
    }
    item.heap = undefined;
    item.pos = -1;
  }

  /**
   * Call `fn` for every entry `pred` accepts, where `pred` holds for an entry's parents whenever it
   * holds for the entry (an upper bound on the key, as "lease ended before now"): O(matches).
   */
  visit(pred: (item: T) => boolean, fn: (item: T) => void): void {
    const stack = this.#items.length && pred(this.#items[0]!) ? [0] : [];
    while (stack.length) {
      const i = stack.pop()!;
      fn(this.#items[i]!);
      for (const c of [2 * i + 1, 2 * i + 2]) if (c < this.#items.length && pred(this.#items[c]!)) stack.push(c);
    }
  }

  /** Re-sort `item` after its key changed. */
  update(item: T): void {
    this.#down(item.pos);
    this.#up(item.pos);
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.#before(item, parent)) break;
      items[i] = parent;
      parent.pos = i;
      i = p;
    }
    items[i] = item;
    item.pos = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#before(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.#before(child, item)) break;
      items[i] = child;
      child.pos = i;
      i = c;
    }
    items[i] = item;
    item.pos = i;
  }
}
