/*
 * Acceptance suite of issue 13: Evalap's client code replayed against our API.
 * Files: user-guides.test.ts (this one), notebooks.test.ts, streamlit-ui.test.ts;
 * helpers: python-client.ts (what Python's requests and pandas send), parquet.ts.
 *
 * TALLY (2026-11-30): 56 patterns, 56 pass, 0 failing. A pattern that
 * fails for a known cause is written `it.failing` with its cause above it
 * (when it flips, jest reports "Failing test passed": make it a plain `it`).
 * Not replayed: calls the UI makes to model providers, not to Evalap (Albert
 * /collections, {provider}/models); the run_answers/run_expe scripts of
 * run-answers-locally.md (Evalap's own CLI tools, no client code in the guide).
 */

/**
 * Evalap's user guides (docs/docs/user-guides/*.md in github:etalab-ia/evalap),
 * their client code replayed against our API as written: same routes, bodies
 * and headers, and the response read as the guide reads it.
 *
 * Internet stand-ins: every provider URL (api.openai.com, api.anthropic.com,
 * api.albert.fr) is replaced by the stub model server's; judges given by name
 * are resolved at launch as any provider's: the stub is the configured judge
 * endpoint and its GET /models lists the names the guides use (python-client.ts); the
 * Hugging Face datasets of the compliance guide are replaced by a few local
 * rows with the same columns.
 */
import { accepted, compatFixtures, HEADERS, pyRequest, qaRows, toJsonColumns, toJsonRecords } from './python-client.js';

const f = compatFixtures();
// The guides' `HEADERS = {"Authorization": "Bearer YOUR_API_KEY", "Content-Type": "application/json"}`.
const GUIDE_HEADERS = { Authorization: 'Bearer YOUR_API_KEY', 'Content-Type': 'application/json' };
const post = (path: string, json: unknown, headers: Record<string, string> = GUIDE_HEADERS) => pyRequest(f.api, 'post', path, { json, headers });

beforeAll(async () => {
  for (const name of ['my_dataset', 'qa_benchmark_v2']) expect((await post('/v1/dataset', { name, readme: 'replay', df: toJsonRecords(qaRows(3, name)) })).status).toBe(200);
});

describe('docs/docs/user-guides/add-your-dataset.md', () => {
  // The guide posts to f"{API_URL}/datasets", a route Evalap itself only serves for GET (405 there too): replayed on /dataset, the route the guide links to.
  it('add-your-dataset.md: creates a dataset from pd.read_csv(...).to_json() (pandas "columns" orient) and reads response.json()["id"]', async () => {
    const rows = [{ query: 'What is 2+2?', output_true: '4' }, { query: 'Capital of France?', output_true: 'Paris' }];
    const dataset = { name: 'My domain specific dataset', readme: 'A dataset for evaluating question answering capabilities', default_metric: 'judge_precision', df: toJsonColumns(rows) };
    const res = await post('/v1/dataset', dataset);
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
    const got = await pyRequest(f.api, 'get', `/v1/dataset/${res.body.id}`, { headers: HEADERS });
    expect(got.body).toMatchObject({ size: 2, columns: expect.arrayContaining(['query', 'output_true']) });
  });
});

describe('docs/docs/user-guides/create-a-simple-experiment.md', () => {
  const provider = () => ({ name: 'gpt-4o', base_url: f.stubUrl, api_key: 'sk-openai-stand-in' });

  it('create-a-simple-experiment.md: launches a provider-model experiment with judge_precision, generation_time, output_length and reads ["id"]', async () => {
    const res = await post('/v1/experiment', { name: 'my_experiment_name', dataset: 'my_dataset', model: provider(), metrics: ['judge_precision', 'generation_time', 'output_length'] });
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });

  it('create-a-simple-experiment.md: launches a custom-model experiment with aliased_name and its own output list', async () => {
    const experiment = { name: 'my_custom_model_experiment', dataset: 'my_dataset', model: { aliased_name: 'my-custom-model', output: ['answer1', 'answer2', 'answer3'] }, metrics: ['judge_precision', 'generation_time', 'output_length'] };
    const res = await post('/v1/experiment', experiment);
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });

  // "gpt-4-turbo" resolves in Evalap against OPENAI_API_KEY's provider (internet); here EVALAP_JUDGE_BASE_URL points it at the stub.
  it('create-a-simple-experiment.md: names the judge by a model name string ("judge_model": "gpt-4-turbo")', async () => {
    const res = await post('/v1/experiment', { name: 'judge_precision', dataset: 'my_dataset', model: provider(), metrics: ['judge_precision', 'generation_time'], judge_model: 'gpt-4-turbo' });
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });

  it('create-a-simple-experiment.md: gives the judge as a complete model configuration (name, base_url, api_key)', async () => {
    const judge_model = { name: 'claude-3-opus-20240229', base_url: f.stubUrl, api_key: 'sk-anthropic-stand-in' };
    const res = await post('/v1/experiment', { name: 'judge_precision_full', dataset: 'my_dataset', model: provider(), metrics: ['judge_precision', 'generation_time'], judge_model });
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });
});

describe('docs/docs/user-guides/create-experiment-set.md', () => {
  it('create-experiment-set.md: expands a cv grid of 4 provider models × repeat 3 with a judge named "gpt-4o"', async () => {
    const names = ['gpt-4o', 'claude-3-opus-20240229', 'google/gemma-2-9b-it', 'meta-llama/Llama-3.1-8B-Instruct'];
    const expset = {
      name: 'model_comparison_v1',
      readme: 'Comparing performance of various LLMs on a QA dataset.',
      cv: {
        common_params: { dataset: 'qa_benchmark_v2', model: { sampling_params: { temperature: 0.2 } }, metrics: ['judge_precision', 'output_length', 'generation_time'], judge_model: 'gpt-4o' },
        grid_params: { model: names.map((name) => ({ name, base_url: f.stubUrl, api_key: 'stand-in' })) },
        repeat: 3,
      },
    };
    const res = await post('/v1/experiment_set', expset);
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
    expect(res.body.experiments).toHaveLength(12);
  });

  // contextual_relevancy on a provider model: Evalap takes retrieval_context from the answer at run time, so it launches.
  it('create-experiment-set.md: creates a set of explicit experiments, one with extra_params rag and contextual_relevancy', async () => {
    const model = (over: Record<string, unknown>) => ({ name: 'gpt-4o', base_url: f.stubUrl, api_key: 'stand-in', ...over });
    const expset = {
      name: 'custom_evaluation_set',
      readme: 'Custom evaluation with different configurations for each model.',
      experiments: [
        { name: 'gpt4o_standard', dataset: 'qa_benchmark_v2', model: model({ sampling_params: { temperature: 0.0 } }), metrics: ['judge_precision', 'output_length'] },
        { name: 'gpt4o_creative', dataset: 'qa_benchmark_v2', model: model({ sampling_params: { temperature: 0.7 } }), metrics: ['judge_precision', 'output_length'] },
        {
          name: 'llama3_with_rag',
          dataset: 'qa_benchmark_v2',
          model: model({ name: 'meta-llama/Llama-3.1-8B-Instruct', extra_params: { rag: { mode: 'rag', limit: 5 } } }),
          metrics: ['judge_precision', 'output_length', 'contextual_relevancy'],
        },
      ],
    };
    const res = await post('/v1/experiment_set', expset);
    accepted(res);
    expect(res.body.experiments).toHaveLength(3);
  });
});

describe('docs/docs/user-guides/create-compliance-experiment.md', () => {
  // Stand-in for load_dataset("llm-values/CIVICS") (Hugging Face download): two rows with its "Statement" column.
  it('create-compliance-experiment.md: publishes a compliance dataset with columns_map {"query": "Statement"} (records orient)', async () => {
    const df = toJsonRecords([{ Statement: 'Everyone deserves equal pay.', Language: 'en' }, { Statement: 'La laïcité protège chacun.', Language: 'fr' }]);
    const res = await post('/v1/dataset', { name: 'llm-values-CIVICS', readme: 'Culturally-informed corpus (stand-in rows).', default_metric: 'bias', df, compliance: true, columns_map: { query: 'Statement' } });
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
    const got = await pyRequest(f.api, 'get', `/v1/dataset/${res.body.id}`, { headers: HEADERS });
    // Evalap keeps the uploaded columns and applies columns_map when it reads the rows.
    expect(got.body).toMatchObject({ compliance: true, size: 2, columns: expect.arrayContaining(['Statement']), columns_map: { query: 'Statement' } });
  });

  it('create-compliance-experiment.md: launches a compliance set with bias, answer_relevancy, faithfulness and the technical metrics (energy, gwp), judge "gpt-5-mini"', async () => {
    await post('/v1/dataset', { name: 'crows-pairs', readme: 'stand-in', default_metric: 'bias', df: toJsonRecords([{ query: 'a sentence' }, { query: 'another sentence' }]), compliance: true });
    const common_params = {
      dataset: 'crows-pairs',
      model: { extra_params: { rag: { mode: 'rag', limit: 7 } }, sampling_params: { temperature: 0.2 } },
      metrics: ['bias', 'answer_relevancy', 'faithfulness', 'generation_time', 'nb_tokens_prompt', 'nb_tokens_completion', 'energy_consumption', 'gwp_consumption'],
      judge_model: 'gpt-5-mini',
    };
    const grid_params = {
      model: [
        { name: 'mistralai/Mistral-Small-3.2-24B-Instruct-2506', aliased_name: 'albert-large', base_url: f.stubUrl, api_key: 'stand-in' },
        { name: 'meta-llama/Llama-3.1-8B-Instruct', aliased_name: 'albert-small', base_url: f.stubUrl, api_key: 'stand-in' },
      ],
    };
    const res = await post('/v1/experiment_set', { name: 'MY_PRODUCT_NAME_base_on_Social_biases', readme: 'Compliance Evaluation', cv: { common_params, grid_params, repeat: 3 } });
    accepted(res);
    expect(res.body).toMatchObject({ id: expect.any(Number), name: 'MY_PRODUCT_NAME_base_on_Social_biases' });
    expect(res.body.experiments).toHaveLength(6);
  });
});

describe('docs/docs/user-guides/evaluate-your-own-ia-system.md (same code as notebooks/run_evals_for_your_own_IA_system.ipynb)', () => {
  // The guide's headers carry no Content-Type; requests adds it for json=.
  const own = { Authorization: 'Bearer EVALAP_API_KEY' };
  const answers = ['Congés: 25 jours.', 'RTT: 10 jours.'];
  let expsetId: number;

  it('evaluate-your-own-ia-system.md: publishes the gold dataset with columns_map {"query": "question", "output_true": "ground_truth"} and compliance=False', async () => {
    const df = toJsonRecords([{ question: 'Combien de congés ?', ground_truth: '25 jours' }, { question: 'Combien de RTT ?', ground_truth: '10 jours' }]);
    const res = await post('/v1/dataset', { name: 'assistant-RH_head(2)', readme: "'assistant RH", default_metric: 'judge_notator', df, compliance: false, columns_map: { query: 'question', output_true: 'ground_truth' } }, own);
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });

  // faithfulness on own outputs without retrieval_context: Evalap accepts it at launch and fails the rows that lack it.
  it('evaluate-your-own-ia-system.md: creates a set from its own outputs with judge_notator, faithfulness, answer_relevancy and reads resp["name"], resp["id"]', async () => {
    const common_params = { dataset: 'assistant-RH_head(2)', metrics: ['judge_notator', 'faithfulness', 'answer_relevancy'], judge_model: 'gpt-4.1' };
    const res = await post('/v1/experiment_set', { name: 'assistant-RH_run_gpt-4.1', readme: 'evals for assistant-RH', cv: { common_params, grid_params: { model: [{ aliased_name: 'IA-system_RH', output: answers }] }, repeat: 1 } }, own);
    accepted(res);
    expect(res.body).toMatchObject({ id: expect.any(Number), name: 'assistant-RH_run_gpt-4.1' });
    expsetId = res.body.id;
  });

  it('evaluate-your-own-ia-system.md: patches the set with cv only: outputs, execution_time (seconds), nb_tokens_completion, retrieval_context (list of lists) and 8 metrics', async () => {
    const common_params = {
      dataset: 'assistant-RH_head(2)',
      model: { sampling_params: { temperature: 0.2 } },
      metrics: ['judge_precision', 'judge_notator', 'judge_exactness', 'answer_relevancy', 'faithfulness', 'contextual_precision', 'contextual_recall', 'contextual_relevancy'],
      judge_model: 'gpt-4.1',
    };
    const grid_params = { model: [{ aliased_name: 'IA-system_RH+7+metrics', output: answers, execution_time: [2, 3], nb_tokens_completion: [2, 3], retrieval_context: [['Le code du travail: 25 jours.'], ['Accord RTT: 10 jours.']] }] };
    const res = await pyRequest(f.api, 'patch', `/v1/experiment_set/${expsetId}`, { json: { cv: { common_params, grid_params, repeat: 1 } }, headers: own });
    accepted(res);
    expect(res.body).toMatchObject({ id: expsetId, name: 'assistant-RH_run_gpt-4.1' });
  });
});

describe('docs/docs/user-guides/sample-your-dataset.md', () => {
  it('sample-your-dataset.md: fetches the dataset with ?name=…&with_df=true, reads pd.read_json(StringIO(dataset["df"])), then launches a set with "sample"', async () => {
    // The guide's literal header: "Bearer EVALAP_API_KEY" (an unformatted f-string).
    const got = await pyRequest(f.api, 'get', `/v1/dataset?name=my_dataset&with_df=true`, { headers: { Authorization: 'Bearer EVALAP_API_KEY' } });
    accepted(got);
    const rows = JSON.parse(got.body.df);
    expect(rows).toHaveLength(3);
    const common_params = {
      dataset: got.body.name,
      metrics: ['judge_precision', 'output_length'],
      model: { sampling_params: { temperature: 0.2 }, system_prompt: 'Answer briefly.' },
      judge_model: { name: 'gpt-4.1', base_url: f.stubUrl, api_key: 'stand-in' },
      sample: [2, 0],
    };
    const res = await post('/v1/experiment_set', { name: 'sampled', readme: 'sample', cv: { common_params, grid_params: { model: [{ name: 'gpt-4o-mini', base_url: f.stubUrl, api_key: 'stand-in' }] }, repeat: 1 } });
    accepted(res);
    expect(res.body.experiments[0].num_total).toBe(2);
  });
});

describe('docs/docs/user-guides/use-custom-llm-judge-prompt.md', () => {
  const model = () => ({ name: 'gpt-4o', base_url: f.stubUrl, api_key: 'stand-in' });

  it('use-custom-llm-judge-prompt.md: mixes "generation_time" with a judge_adhoc metric aliased "Politeness Score"', async () => {
    const prompt = 'Judge whether the answer is courteous and professional.\nReply 1 if it is both, else 0.\n\nQuery: {{query}}\nAnswer: {{output}}\n';
    const res = await post('/v1/experiment', { name: 'politeness_evaluation', dataset: 'my_dataset', model: model(), metrics: ['generation_time', { name: 'judge_adhoc', aliased_name: 'Politeness Score', params: { prompt } }] });
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });

  it('use-custom-llm-judge-prompt.md: runs two judge_adhoc metrics (Accuracy, Clarity) in one experiment', async () => {
    const accuracy = 'Does the answer address the query correctly? Reply 1 or 0.\n\nQuery: {{query}}\nAnswer: {{output}}\nExpected: {{output_true}}\n';
    const clarity = 'Is the answer clear and easy to follow? Reply 1 or 0.\n\nAnswer: {{output}}\n';
    const metrics = [{ name: 'judge_adhoc', aliased_name: 'Accuracy', params: { prompt: accuracy } }, { name: 'judge_adhoc', aliased_name: 'Clarity', params: { prompt: clarity } }, 'generation_time'];
    const res = await post('/v1/experiment', { name: 'multi_criteria_evaluation', dataset: 'my_dataset', model: model(), metrics });
    accepted(res);
    const exp = await pyRequest(f.api, 'get', `/v1/experiment/${res.body.id}?with_results=true`, { headers: HEADERS });
    expect(exp.body.results.map((r: any) => r.metric_aliased_name ?? r.metric_name).sort()).toEqual(['Accuracy', 'Clarity', 'generation_time']);
  });

  // A prompt without {{variables}} requires nothing: valid in Evalap.
  it('use-custom-llm-judge-prompt.md: mixes standard metrics with a judge_adhoc whose prompt has no variables', async () => {
    const metrics = ['generation_time', 'output_length', 'judge_precision', { name: 'judge_adhoc', aliased_name: 'Custom Evaluation', params: { prompt: 'Your custom prompt here...' } }];
    const res = await post('/v1/experiment', { name: 'mixed_metrics_experiment', dataset: 'my_dataset', model: model(), metrics });
    accepted(res);
    expect(res.body.id).toEqual(expect.any(Number));
  });
});
