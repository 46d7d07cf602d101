/**
 * The JUnit XML report, for CI test views: a suite per experiment holding a
 * testcase per metric (failed when a gate on it failed) and a testcase per
 * row and metric (failed when the answer or the metric failed, with the
 * error as message); its energy, carbon and cost as the suite's properties.
 */
import type { RunReport } from './exports.js';
import { fmt } from './report.js';
import { failed, type RowRecord } from './row-results.js';

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => `&${({ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' } as Record<string, string>)[c]};`);
/** Characters XML 1.0 cannot carry at all, even escaped (model output may hold them). */
const clean = (s: string) => s.replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
const attr = (s: string) => xml(clean(s));

function rowFailure(r: RowRecord): string | undefined {
  if (r.answer_error !== null) return `answer failed: ${r.answer_error}`;
  if (r.observation_error !== null) return `${r.metric} failed: ${r.observation_error}`;
  if (failed(r)) return `${r.metric}: no score recorded`;
  return undefined;
}

export function junitReport(report: RunReport): string {
  const ids = [...new Set([...report.results.map((r) => r.experiment_id), ...report.rows.map((r) => r.experiment_id)])];
  const suites = ids.map((id) => {
    const results = report.results.filter((r) => r.experiment_id === id);
    const rows = report.rows.filter((r) => r.experiment_id === id);
    const name = results[0]?.variant ?? rows[0]?.variant ?? String(id);
    const gateCases = results.map((r) => {
      const failure = report.gates.find((g) => !g.passed && g.row === r);
      const out = `mean=${fmt(r.mean)} std=${fmt(r.std)} support=${r.support} failures=${r.failures}`;
      return `    <testcase classname="${attr(name)}" name="${attr(r.metric)}"><system-out>${attr(out)}</system-out>${failure ? `<failure message="${attr(failure.message)}"/>` : ''}</testcase>`;
    });
    const rowCases = rows.map((r) => {
      const message = rowFailure(r);
      const label = `row ${r.num_line}${r.metric === null ? '' : ` ${r.metric}`}`;
      const body = message ? `<failure message="${attr(message.slice(0, 2000))}"/>` : r.score === null ? '' : `<system-out>score=${fmt(r.score)}</system-out>`;
      return `    <testcase classname="${attr(name)}" name="${attr(label)}">${body}</testcase>`;
    });
    const cases = [...gateCases, ...rowCases];
    const failures = cases.filter((c) => c.includes('<failure')).length;
    const impact = report.impacts.find((r) => r.experiment_id === id);
    // Raw numbers in base units (kWh, kgCO2eq, USD), for CI tools that chart properties; empty when unknown.
    const properties = impact
      ? `    <properties>${(['answers_kwh', 'answers_kgco2eq', 'judge_kwh', 'judge_kgco2eq', 'answers_usd', 'judge_usd', 'total_usd'] as const)
          .map((k) => `<property name="${k}" value="${impact[k] ?? ''}"/>`)
          .join('')}</properties>\n`
      : '';
    return `  <testsuite name="${attr(name)}" tests="${cases.length}" failures="${failures}">\n${properties}${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${attr(report.setName)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
