/**
 * Launch: pick a dataset, define a model (an OpenAI-compatible endpoint) or
 * give its outputs (one answer per row), pick metrics, start. Creates a set
 * of one experiment (so it can be stopped and retried like any set) and
 * opens it.
 */
import { useState } from 'preact/hooks';
import { request } from '../api';
import { ErrorNote, Loading } from '../components/feedback';
import { navigate } from '../hash-location';
import type { Dataset, ExperimentSet, MetricInfo } from '../types';
import { useApi } from '../use-api';

type Mode = 'endpoint' | 'outputs';

const value = (e: Event) => (e.target as HTMLInputElement).value;

export function LaunchView() {
  const datasets = useApi<Dataset[]>('/v1/datasets');
  const metrics = useApi<MetricInfo[]>('/v1/metrics');
  const [name, setName] = useState('');
  const [dataset, setDataset] = useState('');
  const [mode, setMode] = useState<Mode>('endpoint');
  const [model, setModel] = useState({ name: '', base_url: '', api_key: '', aliased_name: '', system_prompt: '', temperature: '' });
  const [outputs, setOutputs] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [judge, setJudge] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  if (datasets.error || metrics.error) return <ErrorNote error={(datasets.error ?? metrics.error)!} />;
  if (!datasets.data || !metrics.data) return <Loading />;
  const needsJudge = picked.some((m) => metrics.data!.find((x) => x.name === m)?.needs_judge);
  const types = [...new Set(metrics.data.map((m) => m.type))].sort();

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const lines = outputs.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const modelBody =
      mode === 'outputs'
        ? { aliased_name: model.aliased_name || 'my-outputs', output: lines }
        : {
            name: model.name,
            base_url: model.base_url,
            ...(model.api_key ? { api_key: model.api_key } : {}),
            ...(model.aliased_name ? { aliased_name: model.aliased_name } : {}),
            ...(model.system_prompt ? { system_prompt: model.system_prompt } : {}),
            ...(model.temperature !== '' ? { sampling_params: { temperature: Number(model.temperature) } } : {}),
          };
    const experiment = { name: name || `${dataset}-${Date.now()}`, dataset, model: modelBody, metrics: picked, ...(judge ? { judge_model: judge } : {}) };
    setBusy(true);
    try {
      const set = await request<ExperimentSet>('POST', '/v1/experiment_set', { name: experiment.name, experiments: [experiment] });
      navigate(`/set/${set.id}/overview`);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const setField = (k: keyof typeof model) => (e: Event) => setModel({ ...model, [k]: value(e) });
  const chosen = datasets.data.find((d) => d.name === dataset);
  return (
    <section>
      <h1>Launch an evaluation</h1>
      <form onSubmit={submit} aria-label="Launch an evaluation">
        <div class="form-grid">
          <label for="launch-name">Name</label>
          <input id="launch-name" value={name} onInput={(e) => setName(value(e))} placeholder="my-evaluation" />
          <label for="launch-dataset">Dataset</label>
          <div>
            <select id="launch-dataset" required value={dataset} onChange={(e) => setDataset(value(e))}>
              <option value="">choose a dataset</option>
              {datasets.data.map((d) => (
                <option key={d.id} value={d.name}>
                  {d.name} ({d.size} rows)
                </option>
              ))}
            </select>
            {chosen && <div class="muted small">columns: {chosen.columns.join(', ')}</div>}
          </div>
          <span class="label" id="mode-label">
            <strong>Answers from</strong>
          </span>
          <div role="radiogroup" aria-labelledby="mode-label">
            <label>
              <input type="radio" name="mode" checked={mode === 'endpoint'} onChange={() => setMode('endpoint')} /> a model endpoint (OpenAI-compatible)
            </label>
            <label>
              <input type="radio" name="mode" checked={mode === 'outputs'} onChange={() => setMode('outputs')} /> outputs I already have
            </label>
          </div>
          <label for="model-alias">Display name</label>
          <input id="model-alias" value={model.aliased_name} onInput={setField('aliased_name')} placeholder="how the model is shown" />
          {mode === 'endpoint' ? (
            <>
              <label for="model-name">Model</label>
              <input id="model-name" required value={model.name} onInput={setField('name')} placeholder="gpt-4o-mini" />
              <label for="model-url">Base URL</label>
              <input id="model-url" required type="url" value={model.base_url} onInput={setField('base_url')} placeholder="https://api.openai.com/v1" />
              <label for="model-key">API key</label>
              <input id="model-key" type="password" autocomplete="off" value={model.api_key} onInput={setField('api_key')} placeholder="stored encrypted, never shown again" />
              <label for="model-system">System prompt</label>
              <textarea id="model-system" rows={2} value={model.system_prompt} onInput={setField('system_prompt')} />
              <label for="model-temperature">Temperature</label>
              <input id="model-temperature" type="number" step="0.1" min="0" max="2" value={model.temperature} onInput={setField('temperature')} />
            </>
          ) : (
            <>
              <label for="model-outputs">Outputs</label>
              <div>
                <textarea id="model-outputs" rows={8} required value={outputs} onInput={(e) => setOutputs(value(e))} placeholder="one answer per line, in the dataset's row order" />
                <div class="muted small">
                  {outputs.split('\n').filter((l, i, all) => i < all.length - 1 || l !== '').length} lines{chosen ? ` for ${chosen.size} rows` : ''}; or load a file:{' '}
                  <input type="file" accept=".txt" aria-label="Load the outputs from a text file" onChange={async (e) => setOutputs((await (e.target as HTMLInputElement).files?.[0]?.text()) ?? outputs)} />
                </div>
              </div>
            </>
          )}
          <span class="label">
            <strong>Metrics</strong>
          </span>
          <div>
            {types.map((t) => (
              <fieldset class="picker" key={t}>
                <legend>{t}</legend>
                {metrics
                  .data!.filter((m) => m.type === t)
                  .map((m) => (
                    <label key={m.name} title={`${m.description} Requires: ${m.require.join(', ')}`}>
                      <input type="checkbox" checked={picked.includes(m.name)} onChange={() => setPicked(picked.includes(m.name) ? picked.filter((x) => x !== m.name) : [...picked, m.name])} /> {m.name}
                    </label>
                  ))}
              </fieldset>
            ))}
          </div>
          {needsJudge && (
            <>
              <label for="judge">Judge model</label>
              <input id="judge" value={judge} onInput={(e) => setJudge(value(e))} placeholder="a judge the API knows (empty: its default)" />
            </>
          )}
        </div>
        {error && <ErrorNote error={error} />}
        <p>
          <button type="submit" disabled={busy || !dataset || picked.length === 0}>
            Start
          </button>
        </p>
      </form>
    </section>
  );
}
