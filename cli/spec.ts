/**
 * Run files: the API's own experiment or experiment-set body, in YAML or
 * JSON, where a `dataset` may be `{name, path, ...}`: a file to upload if the
 * API does not have a dataset of that name yet. `${VAR}` in any string is
 * replaced by that environment variable.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CliError, ExitCode } from './errors.js';

export interface DatasetRef {
  name: string;
  file: string;
  readme?: string;
  default_metric?: string;
  columns_map?: Record<string, string>;
  compliance?: boolean;
}

export interface RunSpec {
  /** The experiment-set body to launch (a single experiment is a set of one, so it can be stopped). */
  body: Record<string, any>;
  datasets: DatasetRef[];
}

function parseFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`cannot read ${file}`, ExitCode.usage);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [0, 0];
    throw new CliError(`${file}:${line}:${col}: ${e.message.split('\n')[0]}`, ExitCode.usage);
  }
  return doc.toJS();
}

function expand(value: unknown, env: NodeJS.ProcessEnv, file: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new CliError(`${file}: \${${name}} is used but the environment variable ${name} is not set`, ExitCode.usage);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, env, file));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, env, file)]));
  return value;
}

/** Replaces every `dataset: {name, path}` by its name, collecting the files to upload. */
function collectDatasets(value: unknown, dir: string, out: Map<string, DatasetRef>): unknown {
  if (Array.isArray(value)) return value.map((v) => collectDatasets(v, dir, out));
  if (!value || typeof value !== 'object') return value;
  const obj = { ...(value as Record<string, unknown>) };
  for (const [key, v] of Object.entries(obj)) {
    if (key === 'dataset' && v && typeof v === 'object' && !Array.isArray(v) && 'path' in v) {
      const { path: rel, name, ...meta } = v as Record<string, any>;
      if (typeof name !== 'string' || !name) throw new CliError(`a dataset with a path needs a name (path ${rel})`, ExitCode.usage);
      out.set(name, { name, file: path.resolve(dir, String(rel)), ...meta });
      obj[key] = name;
    } else if (key === 'dataset' && Array.isArray(v)) {
      obj[key] = v.map((d) => (d && typeof d === 'object' && 'path' in d ? (collectDatasets({ dataset: d }, dir, out) as { dataset: string }).dataset : d));
    } else {
      obj[key] = collectDatasets(v, dir, out);
    }
  }
  return obj;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function loadRunFile(file: string, env: NodeJS.ProcessEnv, now = new Date()): RunSpec {
  const raw = parseFile(file);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CliError(`${file}: expected an experiment or experiment set (a mapping at the top)`, ExitCode.usage);
  const datasets = new Map<string, DatasetRef>();
  const body = collectDatasets(expand(raw, env, file), path.dirname(file), datasets) as Record<string, any>;
  if (typeof body.name !== 'string' || !body.name) throw new CliError(`${file}: a run needs a name`, ExitCode.usage);
  // Sets are named per run: names are unique, and every run is kept for comparison.
  const runName = `${body.name}-${stamp(now)}`;
  const isSet = 'experiments' in body || 'cv' in body;
  const setBody = isSet ? { ...body, name: runName, readme: body.readme ?? '' } : { name: runName, readme: body.readme ?? '', experiments: [body] };
  return { body: setBody, datasets: [...datasets.values()] };
}

/**
 * The metric names a run's results will carry (aliased names where given), as
 * gates name them: every `metrics` list of the body, grid values included.
 */
export function runMetricNames(body: unknown, out = new Set<string>()): Set<string> {
  const addRef = (ref: unknown) => {
    if (typeof ref === 'string') out.add(ref);
    else if (Array.isArray(ref)) ref.forEach(addRef);
    else if (ref && typeof ref === 'object') {
      const { name, aliased_name } = ref as { name?: unknown; aliased_name?: unknown };
      if (typeof aliased_name === 'string' && aliased_name) out.add(aliased_name);
      else if (typeof name === 'string') out.add(name);
    }
  };
  if (Array.isArray(body)) body.forEach((v) => runMetricNames(v, out));
  else if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if (k === 'metrics' && Array.isArray(v)) v.forEach(addRef);
      else runMetricNames(v, out);
    }
  }
  return out;
}
