/**
 * The one logger (core/logger.ts): the JSON line it writes, the level filter,
 * child fields, and the redaction every sink gets.
 */
import { createLogger, redact, sinkLogger, type LineLevel } from '../../core/logger.js';

const KEY = 'sk-live-0123456789abcdef';

function capture(level: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'debug') {
  const raw: string[] = [];
  const logger = createLogger({ level, write: (line) => raw.push(line) });
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per event with time, level and event first, then the fields', () => {
    const { logger, raw, lines } = capture();
    logger.info('experiment_created', { experiment_id: 7 });
    expect(raw).toHaveLength(1);
    expect(Object.keys(lines()[0])).toEqual(['time', 'level', 'event', 'experiment_id']);
    expect(lines()[0]).toMatchObject({ level: 'info', event: 'experiment_created', experiment_id: 7 });
    expect(new Date(lines()[0].time as string).toISOString()).toBe(lines()[0].time);
  });

  it('drops events below its level and writes nothing when silent', () => {
    const info = capture('warn');
    info.logger.debug('a');
    info.logger.info('b');
    info.logger.warn('c');
    info.logger.error('d');
    expect(info.lines().map((l) => [l.level, l.event])).toEqual([['warn', 'c'], ['error', 'd']]);
    const silent = capture('silent');
    silent.logger.error('e');
    expect(silent.raw).toEqual([]);
  });

  it('replaces secret-looking values anywhere in the fields, so a key never reaches a line', () => {
    const { logger, raw, lines } = capture();
    logger.error('provider_failed', {
      api_key: KEY,
      headers: { Authorization: `Bearer ${KEY}` },
      attempts: [{ password: KEY, token: KEY }],
      tokens: 12,
      error: Object.assign(new Error('refused'), { apiKey: KEY }),
    });
    expect(raw.join('\n')).not.toContain(KEY);
    expect(lines()[0]).toMatchObject({
      api_key: '[redacted]',
      headers: { Authorization: '[redacted]' },
      attempts: [{ password: '[redacted]', token: '[redacted]' }],
      // A count of tokens is not a token.
      tokens: 12,
      error: { name: 'Error', message: 'refused' },
    });
  });

  it('gives a child its fields on every line, under the call\'s, and redacts them too', () => {
    const { logger, raw, lines } = capture();
    const child = logger.child({ runner: 2, secret: KEY }).child({ worker: 1 });
    child.info('task_dispatched', { worker: 3 });
    expect(lines()[0]).toMatchObject({ event: 'task_dispatched', runner: 2, worker: 3, secret: '[redacted]' });
    expect(raw.join('\n')).not.toContain(KEY);
  });
});

describe('sinkLogger', () => {
  it('hands a sink redacted fields only for the levels it enables', () => {
    const written: [LineLevel, string, Record<string, unknown>][] = [];
    const logger = sinkLogger({ enabled: (level) => level !== 'debug', write: (...args) => written.push(args) }, { service: 'x' });
    logger.debug('hidden', { a: 1 });
    logger.warn('shown', { authorization: KEY });
    expect(written).toEqual([['warn', 'shown', { service: 'x', authorization: '[redacted]' }]]);
  });
});

describe('redact', () => {
  it('leaves null and undefined secret fields as they are, so a missing key reads as missing', () => {
    expect(redact({ api_key: null, password: undefined, secret: '' })).toEqual({ api_key: null, password: undefined, secret: '[redacted]' });
  });
});
