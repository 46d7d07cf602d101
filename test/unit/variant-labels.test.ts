import { fitLabels, variantLabels, type VariantSource } from '../../core/variant-labels.js';

const model = (over: Record<string, unknown> = {}) => ({ id: 1, name: 'gpt-4o-mini', base_url: 'https://api.example/v1', aliased_name: null, system_prompt: null, sampling_params: null, has_api_key: true, has_raw_output: false, ...over });
const grid = (models: Record<string, unknown>[]): VariantSource[] => models.map((m, i) => ({ name: `capitals-grid__${i}`, model: model({ id: 2 * i + 1, ...m }), dataset: { name: 'capitals' } }));

describe('variantLabels', () => {
  it('keeps distinct names their author chose', () => {
    expect(variantLabels([{ name: 'careful-model' }, { name: 'sloppy-model' }])).toEqual(['careful-model', 'sloppy-model']);
  });

  it('labels grid variants by the sampling parameter that differs, never by __0 / __1', () => {
    expect(variantLabels(grid([{ sampling_params: { temperature: 0 } }, { sampling_params: { temperature: 1 } }]))).toEqual(['temperature=0', 'temperature=1']);
  });

  it('names every differing parameter, and the model by its name', () => {
    const labels = variantLabels(grid([
      { name: 'a-model', sampling_params: { temperature: 0, max_tokens: 10 } },
      { name: 'b-model', sampling_params: { temperature: 0, max_tokens: 20 } },
    ]));
    expect(labels).toEqual(['model=a-model · max_tokens=10', 'model=b-model · max_tokens=20']);
  });

  it('cuts long system prompts where they differ, so they never read the same', () => {
    const prefix = 'You are a helpful assistant who answers questions about geography. ';
    const labels = variantLabels(grid([{ system_prompt: prefix + 'Answer with the city only.' }, { system_prompt: prefix + 'Answer in a full sentence.' }]));
    expect(new Set(labels).size).toBe(2);
    expect(labels[0]).toContain('city only');
    expect(labels[1]).toContain('full sentence');
    expect(labels.every((l) => l.length < 50)).toBe(true);
  });

  it('numbers the repeats of one variant', () => {
    const labels = variantLabels(grid([{ sampling_params: { temperature: 0 } }, { sampling_params: { temperature: 0 } }, { sampling_params: { temperature: 1 } }, { sampling_params: { temperature: 1 } }]));
    expect(labels).toEqual(['temperature=0 #1', 'temperature=0 #2', 'temperature=1 #1', 'temperature=1 #2']);
  });

  it('falls back to the set name, numbered, when no parameter differs', () => {
    expect(variantLabels(grid([{}, {}]))).toEqual(['capitals-grid #1', 'capitals-grid #2']);
  });

  it('never shows a key, whatever field holds it', () => {
    const labels = variantLabels(grid([{ extra_params: { api_key: 'sk-aaa', x: 1 } }, { extra_params: { api_key: 'sk-bbb', x: 2 } }]));
    expect(labels.join(' ')).not.toContain('sk-');
    expect(labels).toEqual(['x=1', 'x=2']);
  });
});

describe('fitLabels', () => {
  it('leaves labels that fit as they are', () => {
    expect(fitLabels(['temperature=0', 'temperature=1'], 24)).toEqual(['temperature=0', 'temperature=1']);
  });

  it('cuts long labels in the middle, keeping the end that differs', () => {
    const fitted = fitLabels(['model=a-very-long-model-name · temperature=0', 'model=a-very-long-model-name · temperature=1'], 24);
    expect(fitted.every((f) => f.length <= 24)).toBe(true);
    expect(new Set(fitted).size).toBe(2);
    expect(fitted[1].endsWith('temperature=1')).toBe(true);
  });

  it('never cuts two long labels into the same text', () => {
    const a = 'x'.repeat(20) + 'A' + 'y'.repeat(20);
    const b = 'x'.repeat(20) + 'B' + 'y'.repeat(20);
    const fitted = fitLabels([a, b], 16);
    expect(fitted.every((f) => f.length <= 16)).toBe(true);
    expect(new Set(fitted).size).toBe(2);
  });
});
