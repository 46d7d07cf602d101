/**
 * A set as the request that would launch it again: its experiment-set body
 * (the grid when it was one), as `curl`, as a YAML run file for `evalap run`,
 * and as Python `requests`. Provider keys are never returned by the API:
 * they appear as ${VARIABLE} placeholders (`evalap run` fills them from the
 * environment); outputs brought with an experiment appear as a placeholder too.
 */
import YAML from 'yaml';
import type { Experiment, ExperimentSet, Model } from './types';

function modelBody(m: Model, keyVar: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.has_raw_output) {
    out.aliased_name = m.aliased_name ?? m.name;
    out.output = ['<one answer per dataset row>'];
  } else {
    out.name = m.name;
    out.base_url = m.base_url;
    out.api_key = `\${${keyVar}}`;
    if (m.aliased_name) out.aliased_name = m.aliased_name;
  }
  if (m.system_prompt) out.system_prompt = m.system_prompt;
  if (m.prelude_prompt) out.prelude_prompt = m.prelude_prompt;
  if (m.sampling_params && Object.keys(m.sampling_params).length) out.sampling_params = m.sampling_params;
  if (m.extra_params && Object.keys(m.extra_params).length) out.extra_params = m.extra_params;
  return out;
}

function experimentBody(e: Experiment): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, dataset: e.dataset.name };
  if (e.model) out.model = modelBody(e.model, 'MODEL_API_KEY');
  out.metrics = (e.results ?? []).map((r) =>
    r.metric_aliased_name === r.metric_name && !r.metric_params ? r.metric_name : { name: r.metric_name, ...(r.metric_params ? { params: r.metric_params } : {}), aliased_name: r.metric_aliased_name },
  );
  if (e.judge_model) out.judge_model = e.judge_model.base_url ? { name: e.judge_model.name, base_url: e.judge_model.base_url, api_key: '${JUDGE_API_KEY}' } : e.judge_model.name;
  if (e.sample) out.sample = e.sample;
  return out;
}

/** The body of POST /v1/experiment_set that launches the set again. */
export function setBody(set: ExperimentSet, experiments: Experiment[]): Record<string, unknown> {
  const body: Record<string, unknown> = { name: set.name };
  if (set.readme) body.readme = set.readme;
  if (set.cv) body.cv = set.cv;
  else body.experiments = experiments.map(experimentBody);
  return body;
}

export const asYaml = (body: Record<string, unknown>) => `# evalap run this-file.yaml\n${YAML.stringify(body)}`;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function asCurl(body: Record<string, unknown>, origin: string): string {
  return [
    `curl -X POST ${origin}/v1/experiment_set \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -H "Authorization: Bearer $EVALAP_API_KEY" \\`,
    `  -d ${shellQuote(JSON.stringify(body, null, 2))}`,
  ].join('\n');
}

/** JSON is Python once its three literals are renamed (outside strings). */
function pythonLiteral(value: unknown): string {
  return JSON.stringify(value, null, 4).replace(/("(?:[^"\\]|\\.)*")|\b(true|false|null)\b/g, (m, str: string | undefined, lit: string | undefined) => (str ? str : lit === 'true' ? 'True' : lit === 'false' ? 'False' : 'None'));
}

export function asPython(body: Record<string, unknown>, origin: string): string {
  return [
    'import os',
    'import requests',
    '',
    `API = "${origin}/v1"`,
    'HEADERS = {"Authorization": f"Bearer {os.environ.get(\'EVALAP_API_KEY\', \'\')}"}',
    '',
    `body = ${pythonLiteral(body)}`,
    '',
    'res = requests.post(f"{API}/experiment_set", json=body, headers=HEADERS)',
    'res.raise_for_status()',
    'print(res.json()["id"])',
  ].join('\n');
}
