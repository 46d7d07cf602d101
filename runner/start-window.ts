/**
 * The starts of one model endpoint over a trailing window, oldest first,
 * with their tokens: what its requests-per-minute and tokens-per-minute
 * budgets are checked against. At full speed a minute holds tens of
 * thousands of starts, so they live in a ring of two Float64Arrays (16 bytes
 * a start, no objects, no copies as starts leave; it doubles when full).
 *
 * A start is named by its position, which stays valid while it is in the
 * window: its tokens can be corrected later (an estimate, then the usage).
 */
export class StartWindow {
  private at = new Float64Array(64);
  private tokens = new Float64Array(64);
  /** Positions of the oldest start in the window and of the next start; index = position & mask. */
  private first = 0;
  private next = 0;
  private mask = 63;
  /** Tokens of the starts in the window. */
  private sum = 0;

  constructor(readonly lengthMs: number) {}

  get size(): number {
    return this.next - this.first;
  }

  get totalTokens(): number {
    return this.sum;
  }

  /** Records a start; returns its position. */
  add(at: number, tokens: number): number {
    if (this.size > this.mask) this.grow();
    const i = this.next & this.mask;
    this.at[i] = at;
    this.tokens[i] = tokens;
    this.sum += tokens;
    return this.next++;
  }

  /** Drops the starts that have left the window by `now`. */
  prune(now: number): void {
    const oldest = now - this.lengthMs;
    while (this.first < this.next && this.at[this.first & this.mask] <= oldest) this.sum -= this.tokens[this.first++ & this.mask];
  }

  /** When the k-th oldest start in the window (0: the oldest) leaves it. */
  leavesAt(k: number): number {
    return this.at[(this.first + k) & this.mask] + this.lengthMs;
  }

  tokensOf(k: number): number {
    return this.tokens[(this.first + k) & this.mask];
  }

  /**
   * The starts made after `time`, and their tokens: scanned back from the
   * newest, so the cost is the number found, not the window's size.
   */
  after(time: number): { starts: number; tokens: number } {
    let starts = 0;
    let tokens = 0;
    for (let p = this.next - 1; p >= this.first && this.at[p & this.mask] > time; p--) {
      starts++;
      tokens += this.tokens[p & this.mask];
    }
    return { starts, tokens };
  }

  /** Sets the tokens of the start at `position`, if it is still in the window. */
  setTokens(position: number, tokens: number): void {
    if (position < this.first || position >= this.next) return;
    const i = position & this.mask;
    this.sum += tokens - this.tokens[i];
    this.tokens[i] = tokens;
  }

  /**
   * Forgets the start at `position` (a request handed back before its call).
   * Only the newest can go without moving the others; an older one keeps its
   * place but stops counting tokens, and still counts as a request.
   */
  remove(position: number): void {
    if (position < this.first || position >= this.next) return;
    if (position === this.next - 1) {
      this.sum -= this.tokens[position & this.mask];
      this.next--;
    } else this.setTokens(position, 0);
  }

  private grow(): void {
    const mask = this.mask * 2 + 1;
    const at = new Float64Array(mask + 1);
    const tokens = new Float64Array(mask + 1);
    for (let p = this.first; p < this.next; p++) {
      at[p & mask] = this.at[p & this.mask];
      tokens[p & mask] = this.tokens[p & this.mask];
    }
    [this.at, this.tokens, this.mask] = [at, tokens, mask];
  }
}
