import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';

describe('loadConfig', () => {
  it('applies defaults when the environment is empty', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8000);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.EVALAP_API_KEYS).toBeUndefined();
  });

  it.each([
    ['PORT', 'eighty', /PORT: expected an integer/],
    ['PORT', '70000', /PORT: must be between 0 and 65535/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL: expected a URL/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: must be one of/],
    ['EVALAP_API_KEYS', 'short', /EVALAP_API_KEYS: every key must be at least 16/],
    ['EVALAP_SECRET_KEY', 'aGVsbG8=', /EVALAP_SECRET_KEY: must be the base64 encoding of exactly 32 bytes/],
    // A quiet period no longer than a long poll would clear the protection of a runner between two receives.
    ['RUNNER_TASK_PROTECTION_QUIET_SEC', '5', /RUNNER_TASK_PROTECTION_QUIET_SEC: must be longer than RUNNER_POLL_WAIT_SEC \(5 s\), got 5/],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('never echoes the password of a bad DATABASE_URL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres//user:hunter2@db' })).toThrow(/\*\*\*@/);
  });

  it('splits comma-separated API keys', () => {
    const config = loadConfig({ EVALAP_API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb' });
    expect(config.EVALAP_API_KEYS).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
  });

  it('builds DATABASE_URL from the PG* fields of a database secret, escaping them', () => {
    const config = loadConfig({ PGHOST: 'db.example', PGUSER: 'evalap', PGPASSWORD: 'p@ss/w:rd', PGDATABASE: 'evalap', PGSSLMODE: 'verify-full' });
    expect(config.DATABASE_URL).toBe('postgresql://evalap:p%40ss%2Fw%3Ard@db.example:5432/evalap?sslmode=verify-full');
    expect(loadConfig({ PGHOST: 'h', DATABASE_URL: 'postgresql://x@y/z' }).DATABASE_URL).toBe('postgresql://x@y/z');
  });
});
