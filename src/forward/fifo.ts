/** A FIFO with O(1) shift however long it gets (Array#shift copies large arrays). */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): void {
    this.items[this.head++] = undefined as T;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
  /** Removes matching items (O(n): for cancels, not the hot path); returns how many. */
  remove(match: (item: T) => boolean): number {
    const before = this.length;
    this.items = this.items.slice(this.head).filter((i) => !match(i));
    this.head = 0;
    return before - this.items.length;
  }
  /** Empties the queue; returns what it held. */
  drain(): T[] {
    const items = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return items;
  }
  find(match: (item: T) => boolean): T | undefined {
    for (let i = this.head; i < this.items.length; i++) if (match(this.items[i]!)) return this.items[i];
    return undefined;
  }
}

