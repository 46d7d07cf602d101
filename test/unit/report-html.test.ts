import type { RunReport } from '../../cli/exports.js';
import { axisOf, htmlReport, wrapLabel } from '../../cli/report-html.js';
import type { ResultRow } from '../../cli/report.js';
import type { RowRecord } from '../../cli/row-results.js';

const result = (over: Partial<ResultRow>): ResultRow => ({ experiment_id: 1, experiment: 'e', variant: 'e', model: 'm', metric: 'exact_match', mean: 0.5, std: 0.1, support: 8, ci95_low: 0.4, ci95_high: 0.6, corpus_score: null, failures: 0, ...over });
const record = (over: Partial<RowRecord>): RowRecord => ({ experiment_id: 1, experiment: 'e', variant: 'e', model: 'm', num_line: 0, query: 'q', output_true: 't', answer: 'a', answer_error: null, metric: 'exact_match', score: 1, observation: null, observation_error: null, answer_cost_usd: null, judge_cost_usd: null, ...over });
const report = (over: Partial<RunReport>): RunReport => ({
  setName: 'set',
  results: [result({})],
  impacts: [],
  rows: [],
  gates: [],
  problems: [],
  metrics: new Map([
    ['exact_match', { name: 'exact_match', score_range: [0, 1], higher_is_better: true }],
    ['generation_time', { name: 'generation_time', score_range: [0, null], higher_is_better: false }],
  ]),
  metricNames: new Map(),
  ...over,
});

describe('the HTML report', () => {
  it('escapes what models and datasets wrote, so the file never runs their markup', () => {
    const html = htmlReport(report({ setName: '<b>set</b>', rows: [record({ answer: '<script>alert(1)</script>', query: '"><img src=x onerror=alert(1)>' })] }));
    expect(html).not.toMatch(/<script|<img/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('lists failed rows first, then the lowest scores', () => {
    const html = htmlReport(report({ rows: [record({ num_line: 0, score: 1, answer: 'good' }), record({ num_line: 1, score: 0, answer: 'wrong' }), record({ num_line: 2, score: null, answer: null, answer_error: 'connect ECONNREFUSED' })] }));
    const order = ['connect ECONNREFUSED', '>wrong<', '>good<'].map((s) => html.indexOf(s));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('draws bars on the metric range, and on the data where the range is unbounded', () => {
    expect(axisOf({ name: 'exact_match', score_range: [0, 1], higher_is_better: true }, [result({ mean: 0.2, ci95_low: 0.1, ci95_high: 0.3 })])).toEqual([0, 1]);
    expect(axisOf({ name: 'generation_time', score_range: [0, null], higher_is_better: false }, [result({ mean: 12, ci95_low: 10, ci95_high: 14 })])).toEqual([0, 14]);
  });

  it('shows each gate with its outcome', () => {
    const r = result({ mean: 0.25, variant: 'sloppy' });
    const html = htmlReport(report({ results: [r], gates: [{ gate: { metric: 'exact_match', min: 0.5 }, row: r, passed: false, message: 'gate exact_match>=0.5 failed for sloppy: mean 0.25' }] }));
    expect(html).toMatch(/<tr class="bad"><td>exact_match &gt;= 0.5<\/td><td>sloppy<\/td><td>0.25<\/td><td>FAILED<\/td><\/tr>/);
  });

  it('writes long labels in full on lines of their own, never overlapping the next bar', () => {
    const long = (t: number) => `model=a-rather-long-model-name-from-a-provider · system prompt="…you answer briefly" · temperature=${t}`;
    const html = htmlReport(report({ results: [result({ variant: long(0) }), result({ variant: long(1), experiment_id: 2 })] }));
    const texts = [...html.matchAll(/<text x="0" y="([\d.]+)" font-size="12">(.*?)<\/text>/g)];
    expect(texts).toHaveLength(2);
    const lines = texts.map((t) => [...t[2].matchAll(/<tspan[^>]*>(.*?)<\/tspan>/g)].map((m) => m[1]));
    // Every character is there, in order (a word longer than a line is broken inside).
    const squeeze = (t: string) => t.replace(/\s+/g, '');
    expect(lines.map((l) => squeeze(l.join('').replaceAll('&quot;', '"')))).toEqual([squeeze(long(0)), squeeze(long(1))]);
    expect(lines[0].every((l) => l.replaceAll('&quot;', '"').length <= 32)).toBe(true);
    const [first, second] = texts.map((t) => Number(t[1]));
    expect(second - first).toBeGreaterThanOrEqual(lines[0].length * 14);
  });
});

describe('wrapLabel', () => {
  it('breaks at spaces, and inside words longer than a line', () => {
    expect(wrapLabel('temperature=0 · max_tokens=10', 16)).toEqual(['temperature=0 ·', 'max_tokens=10']);
    expect(wrapLabel('x'.repeat(20), 8)).toEqual(['xxxxxxxx', 'xxxxxxxx', 'xxxx']);
  });
});
