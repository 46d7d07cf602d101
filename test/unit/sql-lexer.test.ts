import { namedPlaceholders, splitStatements } from '../../core/store/sql-lexer.js';
import { MIGRATIONS } from '../../core/store/migrations/index.js';

describe('namedPlaceholders', () => {
  it('renames $n placeholders in code, keeping casts', () => {
    expect(namedPlaceholders('SELECT * FROM t WHERE a = $1 AND b = ANY($12::int[]) AND c = $2::jsonb')).toBe(
      'SELECT * FROM t WHERE a = :p1 AND b = ANY(:p12::int[]) AND c = :p2::jsonb',
    );
  });

  it('leaves literals, quoted identifiers, comments and dollar-quoted bodies alone', () => {
    const sql = `SELECT '$1', E'it\\'s $2', "col$3", $$ body $4 $$, $fn$ $5 ; $fn$ -- $6\n/* $7 */ , $8`;
    expect(namedPlaceholders(sql)).toBe(`SELECT '$1', E'it\\'s $2', "col$3", $$ body $4 $$, $fn$ $5 ; $fn$ -- $6\n/* $7 */ , :p8`);
  });

  it('handles doubled quotes inside literals', () => {
    expect(namedPlaceholders(`SELECT 'a''$1''b', $1`)).toBe(`SELECT 'a''$1''b', :p1`);
  });
});

describe('splitStatements', () => {
  it('splits on semicolons in code only and drops empty and comment-only statements', () => {
    const script = `-- header; not a statement
CREATE TABLE a (x text DEFAULT ';');
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;
/* trailing; comment */
;`;
    expect(splitStatements(script)).toEqual([
      `-- header; not a statement\nCREATE TABLE a (x text DEFAULT ';')`,
      'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$',
    ]);
  });

  it('cuts every shipped migration into statements that each start with a keyword', () => {
    for (const m of MIGRATIONS.filter((x) => x.sql)) {
      const statements = splitStatements(m.sql!);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) expect(s.replace(/^(--[^\n]*\n|\s)+/, '')).toMatch(/^(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|COMMENT|DO|SELECT|WITH|GRANT)\b/i);
    }
  });
});
