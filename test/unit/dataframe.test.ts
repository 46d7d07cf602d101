import { DataFrameError, parseCsv, parseDataFrameJson, parseJsonl } from '../../core/dataframe.js';
import { ValidationError } from '../../core/errors.js';

/** Calls `fn` and returns what it threw; fails the test when it did not throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const expectedFrame = {
  columns: ['query', 'output_true'],
  rows: [
    { query: 'a', output_true: 'x' },
    { query: 'b', output_true: 'y' },
  ],
};

describe('parseDataFrameJson', () => {
  // The same two-row frame as pandas 2 prints it with DataFrame.to_json(orient=...).
  it.each([
    ['records', '[{"query":"a","output_true":"x"},{"query":"b","output_true":"y"}]'],
    ['columns', '{"query":{"0":"a","1":"b"},"output_true":{"0":"x","1":"y"}}'],
    ['index', '{"0":{"query":"a","output_true":"x"},"1":{"query":"b","output_true":"y"}}'],
    ['split', '{"columns":["query","output_true"],"index":[0,1],"data":[["a","x"],["b","y"]]}'],
    ['split without index', '{"columns":["query","output_true"],"data":[["a","x"],["b","y"]]}'],
    [
      'table',
      '{"schema":{"fields":[{"name":"index","type":"integer"},{"name":"query","type":"string"},' +
        '{"name":"output_true","type":"string"}],"primaryKey":["index"],"pandas_version":"1.4.0"},' +
        '"data":[{"index":0,"query":"a","output_true":"x"},{"index":1,"query":"b","output_true":"y"}]}',
    ],
  ])('reads orient %s into the same rows', (_orient, json) => {
    expect(parseDataFrameJson(json)).toEqual(expectedFrame);
  });

  it('keeps a table column named index when it is not the primary key', () => {
    const json =
      '{"schema":{"fields":[{"name":"id","type":"integer"},{"name":"index","type":"integer"}],"primaryKey":["id"]},' +
      '"data":[{"id":7,"index":3}]}';
    expect(parseDataFrameJson(json)).toEqual({ columns: ['id', 'index'], rows: [{ id: 7, index: 3 }] });
  });

  it('keeps cell values of any JSON type, including lists and nulls', () => {
    const frame = parseDataFrameJson('[{"q":"a","contexts":["c1","c2"],"score":0.5,"ok":true,"n":null}]');
    expect(frame.rows).toEqual([{ q: 'a', contexts: ['c1', 'c2'], score: 0.5, ok: true, n: null }]);
  });

  it('fills cells missing from a record with null, columns in order of first appearance', () => {
    const frame = parseDataFrameJson('[{"query":"a"},{"output_true":"y","query":"b"}]');
    expect(frame.columns).toEqual(['query', 'output_true']);
    expect(frame.rows).toEqual([
      { query: 'a', output_true: null },
      { query: 'b', output_true: 'y' },
    ]);
    expect(Object.hasOwn(frame.rows[0], 'output_true')).toBe(true);
  });

  it('takes the union of index keys in orient columns and fills the gaps with null', () => {
    const frame = parseDataFrameJson('{"query":{"0":"a","1":"b"},"output_true":{"1":"y","2":"z"}}');
    expect(frame.rows).toEqual([
      { query: 'a', output_true: null },
      { query: 'b', output_true: 'y' },
      { query: null, output_true: 'z' },
    ]);
  });

  it('fills cells missing from a row in orient index with null', () => {
    const frame = parseDataFrameJson('{"0":{"query":"a"},"1":{"output_true":"y"}}');
    expect(frame).toEqual({
      columns: ['query', 'output_true'],
      rows: [
        { query: 'a', output_true: null },
        { query: null, output_true: 'y' },
      ],
    });
  });

  it('orders integer index keys numerically, so "10" comes after "2"', () => {
    expect(parseDataFrameJson('{"q":{"10":"ten","2":"two","1":"one"}}').rows).toEqual([
      { q: 'one' },
      { q: 'two' },
      { q: 'ten' },
    ]);
    expect(parseDataFrameJson('{"10":{"q":"ten"},"2":{"q":"two"}}').rows).toEqual([{ q: 'two' }, { q: 'ten' }]);
  });

  it('orders index keys beyond 2^53 exactly', () => {
    const frame = parseDataFrameJson('{"q":{"1700000000000000001":"b","1700000000000000000":"a"}}');
    expect(frame.rows).toEqual([{ q: 'a' }, { q: 'b' }]);
  });

  it('reads integer column names as orient columns when the inner keys are integers too', () => {
    expect(parseDataFrameJson('{"0":{"0":"a","1":"b"},"1":{"0":"x","1":"y"}}')).toEqual({
      columns: ['0', '1'],
      rows: [
        { '0': 'a', '1': 'x' },
        { '0': 'b', '1': 'y' },
      ],
    });
  });

  it('treats keys like __proto__ and toString as ordinary columns', () => {
    const frame = parseDataFrameJson('[{"__proto__":"p"},{"toString":"t"}]');
    expect(frame.columns).toEqual(['__proto__', 'toString']);
    expect(Object.hasOwn(frame.rows[0], '__proto__')).toBe(true);
    expect(frame.rows[0]['__proto__']).toBe('p');
    expect(frame.rows[0].toString).toBeNull();
    expect(Object.getPrototypeOf(frame.rows[1])).toBe(Object.prototype);
  });

  it('accepts a leading UTF-8 byte order mark', () => {
    expect(parseDataFrameJson('\uFEFF[{"q":"a"}]').rows).toEqual([{ q: 'a' }]);
  });

  it('rejects orient values and says which orients to use instead', () => {
    const error = thrown(() => parseDataFrameJson('[["a","x"],["b","y"]]'));
    expect(error).toBeInstanceOf(DataFrameError);
    expect((error as Error).message).toMatch(/orient "values".*records, columns or split/);
  });

  it('rejects a df that is not JSON', () => {
    const error = thrown(() => parseDataFrameJson('query,output\na,x'));
    expect(error).toBeInstanceOf(DataFrameError);
    expect((error as Error).message).toMatch(/^df: invalid JSON: /);
  });

  it.each([
    ['an empty records array', '[]', 'df has no rows'],
    ['columns with no index keys', '{"a":{}}', 'df has no rows'],
    ['split with no data', '{"columns":["a"],"data":[]}', 'df has no rows'],
  ])('rejects %s as a frame with no rows', (_what, json, message) => {
    expect(() => parseDataFrameJson(json)).toThrow(new DataFrameError(message));
  });

  it.each([
    ['a record that is not an object', '[{"a":1},{"a":2},{"a":3},4]', 'df: row 3 is not an object'],
    ['an empty column name in a record', '[{"":1}]', 'df: row 0: column names must be non-empty strings'],
    ['an empty column name in orient columns', '{"":{"0":1}}', 'df: column names must be non-empty strings'],
    ['an empty column name in orient index', '{"0":{"":1,"a":2}}', 'df: row "0": column names must be non-empty'],
    ['a non-string column name in split', '{"columns":[0],"data":[[1]]}', 'df: columns[0]: column names must be'],
    ['a duplicate column name in split', '{"columns":["a","a"],"data":[[1,2]]}', 'duplicate column name "a"'],
    ['a short split row', '{"columns":["a","b"],"data":[[1,2],[3]]}', 'df: data row 1 has 1 values but there are 2'],
    ['a split row that is not an array', '{"columns":["a"],"data":[{"a":1}]}', 'df: data row 0 is not an array'],
    ['split without columns', '{"data":[[1]]}', 'orient split needs "columns"'],
    ['a column that maps to a list', '{"a":[1]}', 'df: "a" maps to an array'],
    ['a scalar', '42', 'expected a JSON object or array'],
  ])('rejects %s with a message saying where', (_what, json, message) => {
    const error = thrown(() => parseDataFrameJson(json));
    expect(error).toBeInstanceOf(DataFrameError);
    expect((error as Error).message).toContain(message);
  });

  it('reads an empty object, what pandas writes for an empty DataFrame, as a frame with no columns and no rows', () => {
    expect(parseDataFrameJson('{}')).toEqual({ columns: [], rows: [] });
    expect(parseDataFrameJson('\uFEFF { }')).toEqual({ columns: [], rows: [] });
  });

  it('throws errors that are ValidationErrors mapped to status 400', () => {
    const error = thrown(() => parseDataFrameJson('[]'));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).status).toBe(400);
    expect((error as Error).name).toBe('DataFrameError');
  });
});

describe('parseJsonl', () => {
  it('reads one object per line, skipping blank lines and tolerating CRLF', () => {
    const text = '{"query":"a","output_true":"x"}\r\n\r\n   \n{"query":"b","output_true":"y"}\n\n';
    expect(parseJsonl(text)).toEqual(expectedFrame);
  });

  it('fills keys missing from a line with null', () => {
    expect(parseJsonl('{"a":1}\n{"b":2}').rows).toEqual([
      { a: 1, b: null },
      { a: null, b: 2 },
    ]);
  });

  it('names the 1-based line of invalid JSON, counting blank lines', () => {
    const text = '{"a":1}\n\n{"a":2}\n\n\n\n{"a":\n{"a":4}';
    const error = thrown(() => parseJsonl(text));
    expect(error).toBeInstanceOf(DataFrameError);
    expect((error as Error).message).toMatch(/^line 7: invalid JSON: /);
  });

  it('names the line holding something other than an object', () => {
    expect(() => parseJsonl('{"a":1}\n[1,2]')).toThrow(new DataFrameError('line 2: expected a JSON object, got an array'));
  });

  it('rejects input with only blank lines', () => {
    expect(() => parseJsonl('\n  \r\n')).toThrow(new DataFrameError('JSONL has no rows'));
  });
});

describe('parseCsv', () => {
  it('reads a header and rows into string cells', () => {
    expect(parseCsv('query,output_true\na,x\nb,y\n')).toEqual(expectedFrame);
  });

  it('keeps numbers as strings and turns only empty unquoted cells into null', () => {
    expect(parseCsv('a,b,c\n1,,""\n').rows).toEqual([{ a: '1', b: null, c: '' }]);
  });

  it('reads quoted fields with escaped quotes, commas and newlines, a BOM and CRLF', () => {
    const text = '\uFEFFquery,output_true\r\n"say ""hi"", please","line one\r\nline two"\r\n"a,b",plain\r\n';
    expect(parseCsv(text)).toEqual({
      columns: ['query', 'output_true'],
      rows: [
        { query: 'say "hi", please', output_true: 'line one\r\nline two' },
        { query: 'a,b', output_true: 'plain' },
      ],
    });
  });

  it('accepts a last row without a trailing newline and a trailing empty cell', () => {
    expect(parseCsv('a,b\n1,').rows).toEqual([{ a: '1', b: null }]);
  });

  it('names the line of a row with too few or too many fields, counting lines inside quotes', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow(new DataFrameError('CSV line 3: expected 2 fields as in the header, found 1'));
    expect(() => parseCsv('a,b\n"x\ny",2\n3,4,5\n')).toThrow(/^CSV line 4: expected 2 fields as in the header, found 3$/);
  });

  it('names the line where an unterminated quoted field starts', () => {
    expect(() => parseCsv('a,b\n1,2\n3,4\n5,"open\nstill open')).toThrow(
      new DataFrameError('CSV line 4: unterminated quoted field'),
    );
  });

  it('rejects text after a closing quote', () => {
    expect(() => parseCsv('a\n"x"y\n')).toThrow(/CSV line 2: unexpected "y" after a closing quote/);
  });

  it('rejects duplicate and empty header names', () => {
    expect(() => parseCsv('a,b,a\n1,2,3')).toThrow(new DataFrameError('CSV line 1: duplicate column name "a"'));
    expect(() => parseCsv('a,,c\n1,2,3')).toThrow(new DataFrameError('CSV line 1: column 2 has an empty name'));
  });

  it('rejects an empty file and a file with only a header', () => {
    expect(() => parseCsv('\uFEFF')).toThrow(new DataFrameError('CSV is empty: a header row is required'));
    expect(() => parseCsv('a,b\r\n')).toThrow(new DataFrameError('CSV has no rows'));
  });
});

describe('malformed input', () => {
  const malformed = [
    'null',
    '1',
    '"x"',
    'true',
    '[]',
    '[1]',
    '[null]',
    '[[]]',
    '{"a":1}',
    '{"a":[1]}',
    '{"a":null}',
    '{"columns":1}',
    '{"columns":[1],"data":[[1]]}',
    '{"columns":["a"],"data":[1]}',
    '{"data":[[1]]}',
    '{"data":1,"schema":{}}',
    '{"schema":null,"data":[[1]]}',
    '{"0":1}',
    '{"0":{"":1}}',
    '\u0000',
    '',
    '"',
    '{"a":{"0":1}',
    '[{"a":1},]',
  ];

  it.each(malformed.map((input) => [JSON.stringify(input), input]))(
    'parseDataFrameJson rejects %s with a DataFrameError',
    (_label, input) => {
      expect(thrown(() => parseDataFrameJson(input))).toBeInstanceOf(DataFrameError);
    },
  );

  it('never throws anything but a DataFrameError from any parser', () => {
    for (const parse of [parseDataFrameJson, parseJsonl, parseCsv]) {
      for (const input of malformed) {
        try {
          parse(input);
        } catch (error) {
          expect(error).toBeInstanceOf(DataFrameError);
        }
      }
      expect(thrown(() => parse(undefined as unknown as string))).toBeInstanceOf(DataFrameError);
    }
  });
});
