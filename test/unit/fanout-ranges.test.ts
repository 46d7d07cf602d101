/**
 * How a fan-out's range is cut: what follows each chunk, and the whole tree
 * of fan-out tasks it makes, walked here as the runners would walk it.
 */
import { rangesAfter, SPLIT_WAYS } from '../../runner/tasks/fanout.js';

/** Every chunk start the tree of an experiment of `total` rows visits, and the rounds of tasks it takes (the tree's depth). */
function walk(total: number, chunk: number): { starts: number[]; rounds: number } {
  const starts: number[] = [];
  let round: { from: number; to: number }[] = [{ from: 0, to: total }];
  let rounds = 0;
  while (round.length) {
    rounds++;
    const nextRound: { from: number; to: number }[] = [];
    for (const task of round) {
      starts.push(task.from);
      const end = Math.min(task.from + chunk, total);
      nextRound.push(...rangesAfter(end < total ? end : null, task.to, chunk));
    }
    round = nextRound;
  }
  return { starts, rounds };
}

describe('the ranges after a fan-out chunk', () => {
  it('are nothing after the last chunk of the experiment or of the range', () => {
    expect(rangesAfter(null, 1000, 500)).toEqual([]);
    expect(rangesAfter(1000, 1000, 500)).toEqual([]);
  });

  it('are one continuation while the rest is at most SPLIT_WAYS chunks', () => {
    expect(rangesAfter(500, 1000, 500)).toEqual([{ from: 500, to: 1000 }]);
    expect(rangesAfter(500, 500 + 500 * SPLIT_WAYS, 500)).toEqual([{ from: 500, to: 500 + 500 * SPLIT_WAYS }]);
  });

  it('are at most SPLIT_WAYS contiguous sub-ranges on chunk boundaries when the rest is longer', () => {
    const ranges = rangesAfter(500, 1_000_000, 500);
    expect(ranges.length).toBeLessThanOrEqual(SPLIT_WAYS);
    expect(ranges.length).toBeGreaterThan(1);
    expect(ranges[0].from).toBe(500);
    expect(ranges.at(-1)!.to).toBe(1_000_000);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].from).toBe(ranges[i - 1].to);
    for (const r of ranges) expect((r.from - 500) % 500).toBe(0);
  });
});

describe('the tree of fan-out tasks', () => {
  it.each([
    [1, 500],
    [499, 500],
    [500, 500],
    [5_501, 500],
    [123_457, 500],
    [1_000_000, 500],
    [2_000, 10],
  ])('visits every chunk of %i rows (chunks of %i) exactly once', (total, chunk) => {
    const { starts } = walk(total, chunk);
    const expected = Array.from({ length: Math.ceil(total / chunk) }, (_, i) => i * chunk);
    expect([...starts].sort((a, b) => a - b)).toEqual(expected);
  });

  it('enqueues a 1,000,000-row experiment in a handful of rounds, where a chain took 2,000', () => {
    // 2,000 chunks: each round multiplies the tasks in parallel by up to ten.
    expect(walk(1_000_000, 500).rounds).toBe(5);
    // A short experiment is still one chain.
    expect(walk(5_000, 500).rounds).toBe(10);
  });
});
