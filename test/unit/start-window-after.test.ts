import { StartWindow } from '../../runner/start-window.js';

describe('StartWindow.after', () => {
  test('counts the starts made strictly after a time, and their tokens, across the ring growing', () => {
    const w = new StartWindow(60_000);
    for (let t = 0; t < 100; t++) w.add(t, t % 2);
    expect(w.after(89)).toEqual({ starts: 10, tokens: 5 });
    expect(w.after(99)).toEqual({ starts: 0, tokens: 0 });
    expect(w.after(-1)).toEqual({ starts: 100, tokens: 50 });
    w.prune(60_050); // the first 51 starts (0..50) have left
    expect(w.after(-1)).toEqual({ starts: 49, tokens: 25 });
  });
});
