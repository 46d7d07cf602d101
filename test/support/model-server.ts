/** The stub OpenAI-compatible model lives with the benchmarks, which measure against it; the tests script the same one. */
export * from '../../bench/stub-model.js';
