/** How the pipeline bench prints: lines to stdout, durations in seconds. */

// A closed stdout (`… | head`) must not kill the bench before it stops its stack: writes then go nowhere.
let stdoutClosed = false;
process.stdout.on('error', () => (stdoutClosed = true));
export const say = (line = '') => void (stdoutClosed || process.stdout.write(line + '\n'));
export const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
