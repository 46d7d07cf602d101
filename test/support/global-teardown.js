import fs from 'node:fs';

export default async function globalTeardown() {
  const state = globalThis.__evalapStack;
  if (!state) return;
  await state.stack.stop();
  fs.rmSync(state.dataDir, { recursive: true, force: true });
}
