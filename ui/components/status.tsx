/** An experiment's or a set's status, and a progress bar. */
import { pct } from '../format';

const LABELS: Record<string, string> = {
  pending: 'pending',
  running: 'running',
  running_answers: 'answering',
  running_metrics: 'scoring',
  finished: 'finished',
  stopped: 'stopped',
};

export const StatusBadge = ({ status }: { status: string }) => <span class={`badge status-${status}`}>{LABELS[status] ?? status}</span>;

export const Progress = ({ value, label }: { value: number; label: string }) => (
  <span class="progress">
    <progress max={1} value={value} aria-label={label} />
    <span>{pct(value)}</span>
  </span>
);
