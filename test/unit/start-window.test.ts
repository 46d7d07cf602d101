import { StartWindow } from '../../runner/start-window.js';

describe('StartWindow', () => {
  test('keeps the starts of the trailing window, with their tokens', () => {
    const w = new StartWindow(1000);
    w.add(0, 5);
    w.add(400, 7);
    w.add(900, 1);
    expect([w.size, w.totalTokens]).toEqual([3, 13]);
    expect(w.leavesAt(0)).toBe(1000);
    w.prune(1000); // the start at 0 leaves at 1000
    expect([w.size, w.totalTokens]).toEqual([2, 8]);
    expect([w.leavesAt(0), w.tokensOf(0), w.leavesAt(1), w.tokensOf(1)]).toEqual([1400, 7, 1900, 1]);
  });

  test('a position stays valid while its start is in the window, as the ring wraps and grows', () => {
    const w = new StartWindow(10_000);
    const positions = Array.from({ length: 5000 }, (_, i) => w.add(i, 1));
    w.prune(10_000 + 3999); // the first 4000 leave
    expect(w.size).toBe(1000);
    w.setTokens(positions[4500], 11);
    expect(w.tokensOf(500)).toBe(11);
    expect(w.totalTokens).toBe(1000 + 10);
    // A start that has left is not touched.
    w.setTokens(positions[10], 99);
    expect(w.totalTokens).toBe(1010);
    const later = w.add(20_000, 2);
    w.setTokens(later, 3);
    expect(w.tokensOf(w.size - 1)).toBe(3);
    // Wrap around many times at a steady size: the oldest and newest stay right.
    for (let t = 20_001; t < 60_000; t++) {
      w.add(t, 1);
      w.prune(t);
    }
    expect(w.size).toBe(10_000);
    expect([w.leavesAt(0), w.leavesAt(w.size - 1)]).toEqual([50_000 + 10_000, 59_999 + 10_000]);
    expect(w.totalTokens).toBe(10_000);
  });

  test('removes the newest start; an older one stops counting tokens but keeps its place', () => {
    const w = new StartWindow(1000);
    const a = w.add(0, 5);
    const b = w.add(1, 7);
    w.remove(b);
    expect([w.size, w.totalTokens]).toEqual([1, 5]);
    const c = w.add(2, 3);
    w.remove(a);
    expect([w.size, w.totalTokens]).toEqual([2, 3]);
    w.remove(c);
    expect([w.size, w.totalTokens]).toEqual([1, 0]);
  });
});
