/**
 * One experiment set (or one experiment outside a set, shown as a set of
 * one), in tabs: Scores, Overview, Details, Charts, Copy as code. Polled
 * while any of its experiments runs.
 */
import { ErrorNote, Loading } from '../components/feedback';
import { StatusBadge } from '../components/status';
import { Tabs } from '../components/tabs';
import { isRunning } from '../stats';
import type { Experiment, ExperimentSet, MetricInfo } from '../types';
import { useApi } from '../use-api';
import { variantsOf } from '../variant-labels';
import { ChartsTab } from './set-charts';
import { CodeTab } from './set-code';
import { DetailsTab } from './set-details';
import { OverviewTab } from './set-overview';
import { ScoresTab } from './set-scores';

const TABS = [
  { id: 'scores', label: 'Scores' },
  { id: 'overview', label: 'Overview' },
  { id: 'details', label: 'Details' },
  { id: 'charts', label: 'Charts' },
  { id: 'code', label: 'Copy as code' },
];

export interface SetData {
  set: ExperimentSet;
  /** With their results. */
  experiments: Experiment[];
  metrics: MetricInfo[] | undefined;
  /** Where the view lives: `#/set/3` or `#/experiment/7`. */
  base: string;
}

const anyRunning = (list: Experiment[]) => list.some((e) => isRunning(e.experiment_status));

function useSet(kind: 'set' | 'experiment', id: string) {
  const set = useApi<ExperimentSet>(kind === 'set' ? `/v1/experiment_set/${id}` : null, { poll: (s) => isRunning(s.status) });
  const list = useApi<Experiment[]>(kind === 'set' ? `/v1/experiments?set_id=${id}&limit=1000` : null, { poll: anyRunning });
  // One experiment's results without their observations come with the experiment lists (with_results adds every
  // observation: past the response limit on a large experiment), so it is found in its set's list or among the orphans.
  const one = useApi<Experiment>(kind === 'experiment' ? `/v1/experiment/${id}` : null);
  const siblings = one.data ? (one.data.experiment_set_id ? `set_id=${one.data.experiment_set_id}` : 'orphan=true') : null;
  const found = useApi<Experiment[]>(siblings && `/v1/experiments?${siblings}&limit=1000`, { poll: (l) => anyRunning(l.filter((e) => String(e.id) === id)) });
  const metrics = useApi<MetricInfo[]>('/v1/metrics');
  if (kind === 'experiment') {
    const e = found.data?.find((x) => String(x.id) === id) ?? (found.data && one.data);
    const set: ExperimentSet | undefined = e && { id: e.id, name: e.name, readme: '', cv: null, status: isRunning(e.experiment_status) ? 'running' : e.experiment_status === 'stopped' ? 'stopped' : 'finished', created_at: e.created_at, experiments: [e] };
    return { error: one.error ?? found.error, data: set && { set, experiments: [e!], metrics: metrics.data, base: `#/experiment/${id}` } };
  }
  const error = set.error ?? list.error;
  return { error, data: set.data && list.data ? { set: set.data, experiments: list.data, metrics: metrics.data, base: `#/set/${id}` } : undefined };
}

export function SetView({ kind, id, tab = 'scores' }: { kind: 'set' | 'experiment'; id: string; tab?: string }) {
  const { error, data } = useSet(kind, id);
  if (error) return <ErrorNote error={error} />;
  if (!data) return <Loading />;
  const variants = variantsOf(data.experiments);
  return (
    <section>
      <h1>
        {data.set.name} <StatusBadge status={data.set.status} />
      </h1>
      {data.set.readme && <p class="readme">{data.set.readme}</p>}
      <Tabs label="Views of this set" current={tab} items={TABS.map((t) => ({ ...t, href: `${data.base}/${t.id}` }))} />
      {tab === 'scores' && <ScoresTab data={data} variants={variants} />}
      {tab === 'overview' && <OverviewTab data={data} variants={variants} />}
      {tab === 'details' && <DetailsTab data={data} variants={variants} />}
      {tab === 'charts' && <ChartsTab data={data} variants={variants} />}
      {tab === 'code' && <CodeTab data={data} />}
    </section>
  );
}
