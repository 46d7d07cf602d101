import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { warmUp } from '../../runner/warm-up.js';

/**
 * The TCP servers and sockets created inside `fn`'s asynchronous context (or
 * accepted by a server created there), and which of them are still open.
 * Process-wide counts are not enough: jest runs other test files in this
 * process before this one, and their sockets may close while warm-up runs.
 */
async function trackHandles<T>(fn: () => Promise<T>): Promise<{ result: T; created: Map<number, string>; open: Set<number> }> {
  const mark = Symbol('warm-up');
  const context = new AsyncLocalStorage<symbol>();
  const created = new Map<number, string>();
  const open = new Set<number>();
  const hook = createHook({
    init(asyncId, type, triggerAsyncId) {
      // An accepted connection runs outside the context that created its server: its trigger is that server.
      if ((type === 'TCPSERVERWRAP' || type === 'TCPWRAP') && (context.getStore() === mark || created.has(triggerAsyncId))) {
        created.set(asyncId, type);
        open.add(asyncId);
      }
    },
    // A handle's destroy is emitted when it is closed.
    destroy(asyncId) {
      open.delete(asyncId);
    },
  });
  hook.enable();
  try {
    const result = await context.run(mark, fn);
    // Closing is asynchronous: wait for the handles to go, within a bound so a leak fails.
    for (let i = 0; i < 500 && open.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    return { result, created, open };
  } finally {
    hook.disable();
  }
}

describe('a worker\'s warm-up', () => {
  test('runs an answer task end to end and leaves no server or connection behind', async () => {
    const { result, created, open } = await trackHandles(() => warmUp());
    expect(result).toBe(true);
    // Its chat server and both ends of a connection to it were seen: the check below is not vacuous.
    const types = [...created.values()];
    expect(types.filter((t) => t === 'TCPSERVERWRAP').length).toBeGreaterThanOrEqual(1);
    expect(types.filter((t) => t === 'TCPWRAP').length).toBeGreaterThanOrEqual(2);
    expect([...open].map((id) => created.get(id))).toEqual([]);
  });
});
