/**
 * The local Data API server, driven by the real `RDSDataClient` against the test
 * run's PostgreSQL: what the SDK sends and receives, and every refusal the real
 * service makes that the server reproduces.
 */
import { randomBytes } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import pg from 'pg';
import { type DataApiServer, type DataApiServerOptions, startDataApiServer } from '../../local/data-api.js';
import { emptyDatabase } from '../support/api.js';

const ARNS = {
  resourceArn: 'arn:aws:rds:us-east-1:123456789012:cluster:local-data-api',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:local-data-api',
};

interface ServiceError extends Error {
  $metadata: { httpStatusCode?: number };
  dbConnectionId?: number;
}

const clientFor = (server: DataApiServer) =>
  // One attempt: a retry would hide the error under test.
  new RDSDataClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

async function failure(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Polls `probe` until it returns something other than undefined (bounded). */
async function eventually<T>(probe: () => Promise<T | undefined>, tries = 300, delayMs = 50): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error('condition not reached');
}

const str = (name: string, stringValue: string, typeHint?: SqlParameter['typeHint']): SqlParameter => ({ name, value: { stringValue }, ...(typeHint ? { typeHint } : {}) });
const long = (name: string, longValue: number): SqlParameter => ({ name, value: { longValue } });

describe('local Data API server', () => {
  let url: string;
  let server: DataApiServer;
  let client: RDSDataClient;
  let admin: pg.Client;
  const logLines: string[] = [];
  const servers: DataApiServer[] = [];

  const exec = (sql: string, extra: Partial<ExecuteStatementCommandInput> = {}, on = client) => on.send(new ExecuteStatementCommand({ ...ARNS, sql, ...extra }));
  const begin = (on = client) => on.send(new BeginTransactionCommand({ ...ARNS })).then((r) => r.transactionId!);
  const another = async (options: Partial<DataApiServerOptions> = {}) => {
    const s = await startDataApiServer({ databaseUrl: url, ...options });
    servers.push(s);
    return { server: s, client: clientFor(s) };
  };

  beforeAll(async () => {
    url = await emptyDatabase();
    server = await startDataApiServer({ databaseUrl: url, log: (line) => logLines.push(line) });
    client = clientFor(server);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE TABLE item (
      id serial PRIMARY KEY, i4 int4, i8 int8, num numeric(10,2), f8 float8, ok bool, label text UNIQUE,
      doc jsonb, at timestamptz, ints int[], texts text[])`);
  });

  afterAll(async () => {
    await Promise.all([server, ...servers].map((s) => s.close()));
    await admin.end();
  });

  it('returns every column type the project uses, typed, with PostgreSQL type names in the metadata', async () => {
    await exec(
      `INSERT INTO item (i4, i8, num, f8, ok, label, doc, at, ints, texts)
       VALUES (:i4, :i8, :num, :f8, :ok, :label, :doc, :at, ARRAY[1, 2, NULL], ARRAY['a', NULL])`,
      {
        parameters: [
          long('i4', 7),
          long('i8', 9007199254740991),
          str('num', '12.50', 'DECIMAL'),
          { name: 'f8', value: { doubleValue: 1.25 } },
          { name: 'ok', value: { booleanValue: true } },
          str('label', 'typed'),
          str('doc', '{"a": [1, 2]}', 'JSON'),
          str('at', '2024-01-02 03:04:05.678', 'TIMESTAMP'),
        ],
      },
    );
    const out = await exec('SELECT i4, i8, num, f8, ok, label, doc, at, ints, texts FROM item WHERE label = :l', { parameters: [str('l', 'typed')], includeResultMetadata: true });
    expect(out.records).toEqual([
      [
        { longValue: 7 },
        { longValue: 9007199254740991 },
        { stringValue: '12.50' },
        { doubleValue: 1.25 },
        { booleanValue: true },
        { stringValue: 'typed' },
        { stringValue: '{"a": [1, 2]}' },
        { stringValue: '2024-01-02 03:04:05.678' },
        { arrayValue: { longValues: [1, 2, null] } },
        { arrayValue: { stringValues: ['a', null] } },
      ],
    ]);
    expect(out.numberOfRecordsUpdated).toBe(0);
    expect(out.columnMetadata!.map((c) => [c.name, c.label, c.typeName, c.type, c.nullable, c.tableName])).toEqual([
      ['i4', 'i4', 'int4', 4, 1, 'item'],
      ['i8', 'i8', 'int8', -5, 1, 'item'],
      ['num', 'num', 'numeric', 2, 1, 'item'],
      ['f8', 'f8', 'float8', 8, 1, 'item'],
      ['ok', 'ok', 'bool', -7, 1, 'item'],
      ['label', 'label', 'text', 12, 1, 'item'],
      ['doc', 'doc', 'jsonb', 1111, 1, 'item'],
      ['at', 'at', 'timestamptz', 93, 1, 'item'],
      ['ints', 'ints', '_int4', 2003, 1, 'item'],
      ['texts', 'texts', '_text', 2003, 1, 'item'],
    ]);
    const id = await exec('SELECT id FROM item LIMIT 0', { includeResultMetadata: true });
    expect(id.records).toEqual([]);
    expect(id.columnMetadata![0]).toMatchObject({ typeName: 'int4', nullable: 0, isAutoIncrement: true, isSigned: true });
  });

  it('returns NULL of any type as isNull, and binds isNull as a NULL of the column’s type', async () => {
    await exec('INSERT INTO item (label, doc, at, ints) VALUES (:label, :doc, :at, :ints)', {
      parameters: [str('label', 'nulls'), { name: 'doc', value: { isNull: true } }, { name: 'at', value: { isNull: true } }, { name: 'ints', value: { isNull: true } }],
    });
    const out = await exec("SELECT i4, num, ok, doc, at, ints FROM item WHERE label = 'nulls'");
    expect(out.records).toEqual([Array(6).fill({ isNull: true })]);
  });

  it('reports the statement’s row count and no records for statements that return no rows', async () => {
    await exec("INSERT INTO item (label) VALUES ('count-1'), ('count-2')");
    const out = await exec("UPDATE item SET i4 = 1 WHERE label LIKE 'count-%'");
    expect(out.numberOfRecordsUpdated).toBe(2);
    expect(out.records).toBeUndefined();
    expect(out.generatedFields).toEqual([]);
  });

  it('does not let a transaction opened by the SQL itself outlive its call', async () => {
    await exec('BEGIN');
    await exec("INSERT INTO item (label) VALUES ('after-begin')");
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM item WHERE label = 'after-begin'");
    expect(rows[0].n).toBe(1);
  });

  it('binds named parameters, leaving string literals, quoted identifiers, comments, dollar quotes and :: casts alone', async () => {
    const out = await exec(
      `SELECT ':notparam' AS literal, E'it\\'s :no' AS escaped, 1 AS "col:umn", $$:dollar$$ AS dollar, $tag$ :tagged $tag$ AS tagged,
              :doc::jsonb ->> 'k' AS cast, :n + :n AS twice -- :comment
              /* :block /* :nested */ */`,
      { parameters: [str('doc', '{"k": "v"}'), long('n', 20)], includeResultMetadata: true },
    );
    expect(out.records).toEqual([
      [{ stringValue: ':notparam' }, { stringValue: "it's :no" }, { longValue: 1 }, { stringValue: ':dollar' }, { stringValue: ' :tagged ' }, { stringValue: 'v' }, { longValue: 40 }],
    ]);
    expect(out.columnMetadata![2].label).toBe('col:umn');
  });

  it('refuses a placeholder with no parameter as PostgreSQL refuses a stray colon', async () => {
    const err = await failure(exec('SELECT :missing'));
    expect(err.name).toBe('DatabaseErrorException');
    expect(err.message).toMatch(/^ERROR: syntax error at or near ":"; Position: 8; SQLState: 42601$/);
  });

  it('binds each Field type and typeHint as the PostgreSQL type the Data API sends', async () => {
    const out = await exec(
      `SELECT pg_typeof(:s)::text, pg_typeof(:l)::text, pg_typeof(:d)::text, pg_typeof(:b)::text, pg_typeof(:blob)::text,
              pg_typeof(:date)::text, pg_typeof(:time)::text, pg_typeof(:ts)::text, pg_typeof(:dec)::text, pg_typeof(:json)::text, pg_typeof(:uuid)::text`,
      {
        parameters: [
          str('s', 'x'),
          long('l', 1),
          { name: 'd', value: { doubleValue: 0.5 } },
          { name: 'b', value: { booleanValue: false } },
          { name: 'blob', value: { blobValue: Buffer.from('hi') } },
          str('date', '2024-02-29', 'DATE'),
          str('time', '12:34:56.789', 'TIME'),
          str('ts', '2024-02-29 12:34:56', 'TIMESTAMP'),
          str('dec', '1.10', 'DECIMAL'),
          str('json', '{}', 'JSON'),
          str('uuid', '550e8400-e29b-41d4-a716-446655440000', 'UUID'),
        ],
      },
    );
    expect(out.records![0].map((f) => f.stringValue)).toEqual([
      'character varying', 'bigint', 'double precision', 'boolean', 'bytea',
      'date', 'time without time zone', 'timestamp without time zone', 'numeric', 'json', 'uuid',
    ]);
    const blob = await exec('SELECT :blob::bytea', { parameters: [{ name: 'blob', value: { blobValue: Buffer.from([0, 1, 254, 255]) } }] });
    expect(Buffer.from(blob.records![0][0].blobValue!)).toEqual(Buffer.from([0, 1, 254, 255]));
  });

  it('refuses a stringValue in a jsonb column unless it is cast or hinted JSON', async () => {
    const err = await failure(exec('INSERT INTO item (label, doc) VALUES (:label, :doc)', { parameters: [str('label', 'json-1'), str('doc', '{}')] }));
    expect(err.name).toBe('DatabaseErrorException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe(
      'ERROR: column "doc" is of type jsonb but expression is of type character varying; Hint: You will need to rewrite or cast the expression.; Position: 47; SQLState: 42804',
    );
    await exec('INSERT INTO item (label, doc) VALUES (:label, :doc::jsonb)', { parameters: [str('label', 'json-2'), str('doc', '{}')] });
    await exec('INSERT INTO item (label, doc) VALUES (:label, :doc)', { parameters: [str('label', 'json-3'), str('doc', '{}', 'JSON')] });
    const out = await exec("SELECT count(*) FROM item WHERE label LIKE 'json-%'");
    expect(out.records).toEqual([[{ longValue: 2 }]]);
  });

  it('refuses = ANY(:p) on a string parameter, and array parameters altogether', async () => {
    const anyErr = await failure(exec('SELECT 1 = ANY(:p)', { parameters: [str('p', '{1,2}')] }));
    expect(anyErr.name).toBe('DatabaseErrorException');
    expect(anyErr.message).toMatch(/^ERROR: op ANY\/ALL \(array\) requires array on right side; Position: \d+; SQLState: 42809$/);
    const arrayErr = await failure(exec('SELECT 1 = ANY(:p)', { parameters: [{ name: 'p', value: { arrayValue: { longValues: [1, 2] } } }] }));
    expect(arrayErr.name).toBe('ValidationException');
    expect(arrayErr.$metadata.httpStatusCode).toBe(400);
    expect(arrayErr.message).toBe('Array parameters are not supported.');
  });

  it('refuses a hinted string that is not in the hint’s documented format', async () => {
    const err = await failure(exec('SELECT :ts', { parameters: [str('ts', '2024-01-01T00:00:00Z', 'TIMESTAMP')] }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/YYYY-MM-DD HH:MM:SS\[\.FFF\]/);
  });

  it('refuses several statements in one call, but not a semicolon in a literal or a trailing one', async () => {
    const err = await failure(exec("INSERT INTO item (label) VALUES ('multi'); DELETE FROM item"));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe("Multistatements aren't supported.");
    expect((await exec("SELECT count(*) FROM item WHERE label = 'multi'")).records).toEqual([[{ longValue: 0 }]]);
    expect((await exec("SELECT ';' AS s; -- done")).records).toEqual([[{ stringValue: ';' }]]);
  });

  it('reports a unique violation as a DatabaseErrorException carrying the SQLSTATE and no row values', async () => {
    await exec("INSERT INTO item (label) VALUES ('unique-1')");
    const err = await failure(exec('INSERT INTO item (label) VALUES (:label)', { parameters: [str('label', 'unique-1')] }));
    expect(err.name).toBe('DatabaseErrorException');
    expect(err.message).toBe('ERROR: duplicate key value violates unique constraint "item_label_key"; SQLState: 23505');
  });

  it('refuses a result row over 64 KB and a response over 1 MiB', async () => {
    const row = await failure(exec("SELECT repeat('x', 70000)"));
    expect(row.name).toBe('UnsupportedResultException');
    expect(row.message).toBe('Packet for query is too large');
    const big = await failure(exec("SELECT repeat('x', 60000) FROM generate_series(1, 20)"));
    expect(big.name).toBe('UnsupportedResultException');
    expect(big.message).toBe('Database response exceeded size limit');
    const fits = await exec("SELECT repeat('x', 60000) FROM generate_series(1, 10)");
    expect(fits.records).toHaveLength(10);
  });

  it('refuses result types the Data API cannot return', async () => {
    const interval = await failure(exec("SELECT interval '1 day'"));
    expect(interval.name).toBe('UnsupportedResultException');
    const nested = await failure(exec('SELECT ARRAY[ARRAY[1, 2], ARRAY[3, 4]]'));
    expect(nested.name).toBe('UnsupportedResultException');
    expect((await exec("SELECT interval '1 day'::text")).records).toEqual([[{ stringValue: '1 day' }]]);
  });

  it('formats records as one JSON object per row when formatRecordsAs is JSON', async () => {
    const out = await exec("SELECT 1::int8 AS n, 2.50::numeric AS d, true AS b, NULL AS z, ARRAY[1, 2] AS a, '\\x6869'::bytea AS blob, 'ok' AS s", { formatRecordsAs: 'JSON', includeResultMetadata: true });
    expect(JSON.parse(out.formattedRecords!)).toEqual([{ n: 1, d: '2.50', b: true, z: null, a: [1, 2], blob: 'aGk=', s: 'ok' }]);
    expect(out.records).toBeUndefined();
    expect(out.columnMetadata).toBeUndefined();
  });

  it('returns longs as strings and decimals as numbers when resultSetOptions ask', async () => {
    const out = await exec('SELECT 9223372036854775807::int8, 2.5::numeric, 3::numeric', { resultSetOptions: { longReturnType: 'STRING', decimalReturnType: 'DOUBLE_OR_LONG' } });
    expect(out.records).toEqual([[{ stringValue: '9223372036854775807' }, { doubleValue: 2.5 }, { longValue: 3 }]]);
  });

  describe('transactions', () => {
    it('commits what the transaction wrote and keeps it from other calls until then', async () => {
      const tx = await begin();
      await exec("INSERT INTO item (label) VALUES ('tx-commit')", { transactionId: tx });
      expect((await exec("SELECT count(*) FROM item WHERE label = 'tx-commit'")).records).toEqual([[{ longValue: 0 }]]);
      expect((await exec("SELECT count(*) FROM item WHERE label = 'tx-commit'", { transactionId: tx })).records).toEqual([[{ longValue: 1 }]]);
      const done = await client.send(new CommitTransactionCommand({ ...ARNS, transactionId: tx }));
      expect(done.transactionStatus).toBe('Transaction Committed');
      expect((await exec("SELECT count(*) FROM item WHERE label = 'tx-commit'")).records).toEqual([[{ longValue: 1 }]]);
    });

    it('rolls back what the transaction wrote', async () => {
      const tx = await begin();
      await exec("INSERT INTO item (label) VALUES ('tx-rollback')", { transactionId: tx });
      const done = await client.send(new RollbackTransactionCommand({ ...ARNS, transactionId: tx }));
      expect(done.transactionStatus).toBe('Rollback Complete');
      expect((await exec("SELECT count(*) FROM item WHERE label = 'tx-rollback'")).records).toEqual([[{ longValue: 0 }]]);
    });

    it('refuses a finished or unknown transaction id with TransactionNotFoundException', async () => {
      const tx = await begin();
      await client.send(new CommitTransactionCommand({ ...ARNS, transactionId: tx }));
      const again = await failure(client.send(new CommitTransactionCommand({ ...ARNS, transactionId: tx })));
      expect(again.name).toBe('TransactionNotFoundException');
      expect(again.$metadata.httpStatusCode).toBe(404);
      expect(again.message).toBe(`Transaction ${tx} isn't found. One previous call resulted in a termination of your transaction.`);
      const unknown = await failure(exec('SELECT 1', { transactionId: 'no-such-transaction' }));
      expect(unknown.name).toBe('TransactionNotFoundException');
      expect(unknown.message).toBe("Transaction no-such-transaction isn't found. Transaction may be expired.");
    });

    it('refuses a second call on a transaction while its first is still running', async () => {
      await exec("INSERT INTO item (label) VALUES ('locked')");
      const holder = await begin();
      await exec("SELECT id FROM item WHERE label = 'locked' FOR UPDATE", { transactionId: holder });
      const waiter = await begin();
      const blocked = exec("SELECT id FROM item WHERE label = 'locked' FOR UPDATE", { transactionId: waiter });
      await eventually(async () => {
        const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        return rows.length ? true : undefined;
      });
      const busy = await failure(exec('SELECT 1', { transactionId: waiter }));
      expect(busy.name).toBe('DatabaseErrorException');
      expect(busy.message).toBe('Transaction is still running a query');
      await client.send(new RollbackTransactionCommand({ ...ARNS, transactionId: holder }));
      expect((await blocked).records).toHaveLength(1);
      await client.send(new RollbackTransactionCommand({ ...ARNS, transactionId: waiter }));
    });

    it('keeps a failed statement’s transaction open but aborted, as PostgreSQL does', async () => {
      const tx = await begin();
      await failure(exec('SELECT * FROM missing_table', { transactionId: tx }));
      const aborted = await failure(exec('SELECT 1', { transactionId: tx }));
      expect(aborted.message).toBe('ERROR: current transaction is aborted, commands ignored until end of transaction block; SQLState: 25P02');
      await client.send(new RollbackTransactionCommand({ ...ARNS, transactionId: tx }));
    });

    it('ends a transaction whose connection was lost, and says so on the next call', async () => {
      const tx = await begin();
      const { records } = await exec('SELECT pg_backend_pid()', { transactionId: tx });
      await admin.query('SELECT pg_terminate_backend($1)', [records![0][0].longValue]);
      const lost = await eventually(() => exec('SELECT 1', { transactionId: tx }).then(() => undefined, (e: ServiceError) => e));
      expect(lost.name).toBe('DatabaseUnavailableException');
      expect(lost.$metadata.httpStatusCode).toBe(504);
      const gone = await failure(exec('SELECT 1', { transactionId: tx }));
      expect(gone.name).toBe('TransactionNotFoundException');
      expect(gone.message).toBe(`Transaction ${tx} isn't found. Transaction has been aborted due to an error from a previous call.`);
    });

    it('rolls back a transaction left without a call past the idle limit', async () => {
      const { client: quick } = await another({ transactionIdleMs: 200 });
      const tx = await begin(quick);
      await exec("INSERT INTO item (label) VALUES ('tx-idle')", { transactionId: tx }, quick);
      await eventually(async () => {
        const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'");
        return rows.length ? undefined : true;
      });
      const err = await failure(exec('SELECT 1', { transactionId: tx }, quick));
      expect(err.name).toBe('TransactionNotFoundException');
      expect(err.message).toBe(`Transaction ${tx} isn't found. Transaction may be expired.`);
      expect((await exec("SELECT count(*) FROM item WHERE label = 'tx-idle'")).records).toEqual([[{ longValue: 0 }]]);
    });
  });

  it('runs a batch once per parameter set and commits all sets or none', async () => {
    const sql = 'INSERT INTO item (label, i4) VALUES (:label, :n)';
    const ok = await client.send(
      new BatchExecuteStatementCommand({ ...ARNS, sql, parameterSets: [[str('label', 'batch-1'), long('n', 1)], [str('label', 'batch-2'), long('n', 2)]] }),
    );
    expect(ok.updateResults).toEqual([{ generatedFields: [] }, { generatedFields: [] }]);
    const err = await failure(
      client.send(new BatchExecuteStatementCommand({ ...ARNS, sql, parameterSets: [[str('label', 'batch-3'), long('n', 3)], [str('label', 'batch-1'), long('n', 4)]] })),
    );
    expect(err.name).toBe('DatabaseErrorException');
    expect(err.message).toMatch(/SQLState: 23505$/);
    expect((await exec("SELECT label FROM item WHERE label LIKE 'batch-%' ORDER BY label")).records).toEqual([[{ stringValue: 'batch-1' }], [{ stringValue: 'batch-2' }]]);
  });

  it('uses the database a call names, and refuses one that does not exist', async () => {
    const other = new URL(await emptyDatabase()).pathname.slice(1);
    const out = await exec('SELECT current_database()', { database: other });
    expect(out.records).toEqual([[{ stringValue: other }]]);
    const err = await failure(exec('SELECT 1', { database: 'no_such_database' }));
    expect(err.name).toBe('DatabaseErrorException');
    expect(err.message).toBe('ERROR: database "no_such_database" does not exist; SQLState: 3D000');
  });

  it('refuses a schema parameter and members that break the API’s constraints', async () => {
    expect((await failure(exec('SELECT 1', { schema: 'public' }))).name).toBe('ValidationException');
    const short = await failure(client.send(new ExecuteStatementCommand({ ...ARNS, resourceArn: 'arn:short', sql: 'SELECT 1' })));
    expect(short.name).toBe('ValidationException');
    expect(short.message).toBe("1 validation error detected: Value 'arn:short' at 'resourceArn' failed to satisfy constraint: Member must have length greater than or equal to 11");
  });

  describe('on the wire', () => {
    const post = (path: string, body: string, method = 'POST') => fetch(server.endpoint + path, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : body });

    it('answers a malformed body with a 400 SerializationException in AWS’s error format', async () => {
      for (const body of ['{not json', '[1, 2]', JSON.stringify({ ...ARNS, sql: 42 })]) {
        const res = await post('/Execute', body);
        expect(res.status).toBe(400);
        expect(res.headers.get('x-amzn-errortype')).toBe('SerializationException');
        expect(res.headers.get('content-type')).toBe('application/json');
        expect(typeof ((await res.json()) as { message?: unknown }).message).toBe('string');
      }
    });

    it('answers a missing required member with every problem listed', async () => {
      const res = await post('/Execute', JSON.stringify({ resourceArn: ARNS.resourceArn }));
      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('ValidationException');
      expect(((await res.json()) as { message?: unknown }).message).toBe(
        "2 validation errors detected: Value null at 'secretArn' failed to satisfy constraint: Member must not be null; Value null at 'sql' failed to satisfy constraint: Member must not be null",
      );
    });

    it('answers an unknown operation or method with a 404 UnknownOperationException', async () => {
      for (const [path, method] of [['/Nope', 'POST'], ['/Execute', 'GET']]) {
        const res = await post(path, '{}', method);
        expect(res.status).toBe(404);
        expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
      }
    });

    it('refuses a request over 4 MiB without reading it whole', async () => {
      const res = await post('/Execute', JSON.stringify({ ...ARNS, sql: `SELECT '${'x'.repeat(4 * 1024 * 1024)}'` }));
      expect(res.status).toBe(413);
      expect(res.headers.get('x-amzn-errortype')).toBe('RequestEntityTooLargeException');
    });
  });

  it('logs failed calls by operation and error type only, never SQL or values', async () => {
    await failure(exec('SELECT :secret::int AS sql_marker_7f3a', { parameters: [str('secret', 'hunter2-value-9c1e')] }));
    expect(logLines.some((l) => l.includes('DatabaseErrorException'))).toBe(true);
    expect(logLines.join('\n')).not.toMatch(/hunter2|sql_marker|SELECT/);
  });

  it('fails every call with DatabaseResumingException while resuming, then serves them again', async () => {
    const { server: paused, client: c } = await another();
    paused.resumeDelay(3000);
    const err = await failure(exec('SELECT 1', {}, c));
    expect(err.name).toBe('DatabaseResumingException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toMatch(/is resuming after being auto-paused/);
    expect((await failure(begin(c))).name).toBe('DatabaseResumingException');
    const out = await eventually(() => exec('SELECT 1', {}, c).catch(() => undefined));
    expect(out.records).toEqual([[{ longValue: 1 }]]);
  });

  it('logs in with the password the secret holds now, so a rotated password takes effect on the next call', async () => {
    const role = `r_${randomBytes(6).toString('hex')}`;
    const first = randomBytes(12).toString('hex');
    const second = randomBytes(12).toString('hex');
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${first}'`);
    let secret = { username: role, password: first };
    const { client: c } = await another({ credentials: async () => secret });
    expect((await exec('SELECT current_user', {}, c)).records).toEqual([[{ stringValue: role }]]);
    await admin.query(`ALTER ROLE ${role} PASSWORD '${second}'`);
    secret = { username: role, password: second };
    expect((await exec('SELECT current_user', {}, c)).records).toEqual([[{ stringValue: role }]]);
    secret = { username: role, password: first };
    const stale = await failure(exec('SELECT 1', {}, c));
    expect(stale.name).toBe('DatabaseErrorException');
    expect(stale.message).toBe(`ERROR: password authentication failed for user "${role}"; SQLState: 28P01`);
  });

  it('answers a secret that cannot be read with SecretsErrorException', async () => {
    const { client: c } = await another({
      credentials: async () => {
        throw new Error('no such secret');
      },
    });
    expect((await failure(exec('SELECT 1', {}, c))).name).toBe('SecretsErrorException');
  });

  it('gives up on a statement past the call’s time limit, cancelling it unless told to continue', async () => {
    const { client: c } = await another({ statementTimeoutMs: 300 });
    const running = (marker: string): Promise<{ pid: number }[]> =>
      admin.query('SELECT pid FROM pg_stat_activity WHERE state = $1 AND query LIKE $2 AND pid <> pg_backend_pid()', ['active', `%${marker}%`]).then((r) => r.rows);
    const stopped = await failure(exec('SELECT pg_sleep(30), 1 AS cancel_me', {}, c));
    expect(stopped.name).toBe('StatementTimeoutException');
    expect(typeof stopped.dbConnectionId).toBe('number');
    await eventually(async () => ((await running('cancel_me')).length ? undefined : true));
    const kept = await failure(exec('SELECT pg_sleep(30), 1 AS keep_me', { continueAfterTimeout: true }, c));
    expect(kept.name).toBe('StatementTimeoutException');
    const still = await running('keep_me');
    expect(still).toHaveLength(1);
    await admin.query('SELECT pg_cancel_backend($1)', [still[0].pid]);
  });

  it('listens on loopback only', async () => {
    await expect(startDataApiServer({ databaseUrl: url, host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});
