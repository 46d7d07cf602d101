/**
 * The starts of one model endpoint over a trailing window, oldest first,
 * with their tokens: what its requests-per-minute and tokens-per-minute
 * budgets are checked against. At full speed a minute holds tens of
 * thousands of starts, so they are kept as two arrays of numbers (16 bytes a
 * start, no objects), and pruning moves a head index instead of shifting
 * (shifting a large array copies it).
 *
 * A start is named by its position, which stays valid while it is in the
 * window: its tokens can be corrected later (an estimate, then the usage).
 */
export class StartWindow {
  private at: number[] = [];
  private tokens: number[] = [];
  /** Index of the oldest start still in the window. */
  private head = 0;
  /** Position of index 0. */
  private base = 0;
  /** Tokens of the starts in the window. */
  private sum = 0;

  constructor(readonly lengthMs: number) {}

  get size(): number {
    return this.at.length - this.head;
  }

  get totalTokens(): number {
    return this.sum;
  }

  /** Records a start; returns its position. */
  add(at: number, tokens: number): number {
    this.at.push(at);
    this.tokens.push(tokens);
    this.sum += tokens;
    return this.base + this.at.length - 1;
  }

  /** Drops the starts that have left the window by `now`. */
  prune(now: number): void {
    const oldest = now - this.lengthMs;
    while (this.head < this.at.length && this.at[this.head] <= oldest) this.sum -= this.tokens[this.head++];
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at = this.at.slice(this.head);
      this.tokens = this.tokens.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  /** When the k-th oldest start in the window (0: the oldest) leaves it. */
  leavesAt(k: number): number {
    return this.at[this.head + k] + this.lengthMs;
  }

  tokensOf(k: number): number {
    return this.tokens[this.head + k];
  }

  /** Sets the tokens of the start at `position`, if it is still in the window. */
  setTokens(position: number, tokens: number): void {
    const i = position - this.base;
    if (i < this.head || i >= this.at.length) return;
    this.sum += tokens - this.tokens[i];
    this.tokens[i] = tokens;
  }

  /**
   * Forgets the start at `position` (a request handed back before its call).
   * Only the newest can go without moving the others; an older one keeps its
   * place but stops counting tokens, and still counts as a request.
   */
  remove(position: number): void {
    const i = position - this.base;
    if (i < this.head || i >= this.at.length) return;
    if (i === this.at.length - 1) {
      this.sum -= this.tokens[i];
      this.at.pop();
      this.tokens.pop();
    } else this.setTokens(position, 0);
  }
}
