/**
 * Parameter counts (billions) of the models Evalap knows, as data: the sizes
 * in Evalap's evalap/config/models-extra-info.toml, read as that file means
 * them. `params` gives both counts of a dense model; `active_params` /
 * `total_params` those of a mixture of experts; a friendly size alone maps as
 * Evalap maps it (XS 3, S 7, M 35, L 70, XL 200). Entries that name no size
 * there take the one in their name (Qwen2-72b → 72). Whisper's 1550 is its
 * size in millions (1.55 B), kept in billions like the rest.
 *
 * Evalap halves both counts of a model quantized to q8; `quantization` keeps
 * that fact and model-params.ts applies it.
 */
export interface ModelSize {
  active: number;
  total: number;
  quantization?: 'q4' | 'q8';
}

const dense = (b: number, quantization?: ModelSize['quantization']): ModelSize => ({ active: b, total: b, ...(quantization ? { quantization } : {}) });
const moe = (active: number, total: number): ModelSize => ({ active, total });

export const MODEL_SIZES: Readonly<Record<string, ModelSize>> = {
  'Aya23-35B': dense(35),
  'aya-23-8b': dense(8),
  'aya-expanse-8b': dense(8),
  'claude-3-5-sonnet-v2': moe(100, 300),
  'command-r-plus': dense(104),
  'c4ai-command-r-08-2024': dense(35),
  'Chocolatine-14B-Instruct-DPO-v1.2': dense(14),
  'Chocolatine-14B-Instruct-DPO-v1.2-Q4_K_M-GGUF': dense(14, 'q4'),
  'Chocolatine-2-14B-Instruct-v2.0.3': dense(14, 'q8'),
  'DeepSeek-R1': moe(37, 671),
  'deepseek-r1-distill-llama-70b': dense(70),
  'deepseek-ai/DeepSeek-V3': moe(37, 671),
  'gemini-1.5-pro-001': moe(220, 440),
  'gemini-1.5-pro-002': moe(220, 440),
  'gemini-2.0-flash-001': dense(40),
  'gemini-2.0-flash-exp': dense(40),
  'gemma-2-27b-it': dense(27),
  'Gemma-2-9B-it': dense(9),
  'gemma-2-2b-it': dense(2),
  'gemma-3-12b-it': dense(12),
  'gemma-3-4b-it': dense(4),
  'gemma-3-27b-it': dense(27),
  'mistral-small-3.1-24b-instruct-2503': dense(24),
  'command-a': dense(111),
  'gpt-3.5-turbo': dense(70),
  'gpt-4o-mini': dense(35),
  'gpt-4o': dense(200),
  'Hermes-3-Llama-3.1-405B': dense(405),
  'AI21-Jamba-1.5-Large': moe(94, 400),
  'liquid-foundation-models': dense(40),
  'meta-Llama-3.1-405B-Instruct': dense(405),
  'meta-Llama-3.1-8B-Instruct': dense(8),
  'llama-3.1-70b-instruct': dense(70),
  'meta-Llama-3.1-70b-instruct-fp8': dense(70),
  'llama-3.3-70b-instruct': dense(70),
  'llama-3.1-nemotron-70b-instruct': dense(70),
  'Meta-Llama-3-70B-Instruct': dense(70),
  'Meta-Llama-3-8B-Instruct': dense(8),
  'mistral-small-24B-Instruct-2501': dense(24),
  'mistral-nemo-2407': dense(12),
  'ministral-8b-instruct-2410': dense(8),
  'Mixtral-8x22B-Instruct-v0.1': moe(44, 176),
  'Mixtral-8x7B-Instruct-v0.1': moe(14, 56),
  'mistral-large-2411': dense(123),
  'o3-mini': dense(200),
  'phi-3-mini-4k': dense(3.8),
  'phi-3.5-mini-instruct': dense(3.8),
  'phi-4': dense(14.7),
  'Phi-3-small-8k-Instruct': dense(7),
  'Qwen1.5-32B-Chat': dense(32),
  'qwen2.5-coder-32b-instruct': dense(32),
  'Qwen2-57B-A14B-Instruct': moe(14, 57),
  'Qwen2-72b-instruct': dense(72),
  'Qwen2-7B-instruct': dense(7),
  'Qwen2.5-7B-instruct': dense(7),
  'Qwen2.5-32B-instruct': dense(32),
  'qwq-32b': dense(32),
  'Yi-1.5-9B-Chat': dense(9),
  'whisper-large-v3': dense(1.55),
};
