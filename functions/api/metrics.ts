import { listMetrics } from '../../core/metrics/registry.js';
import { leaderboard } from '../../core/store/leaderboard.js';
import { LeaderboardEntry, LeaderboardQuery, MetricInfo } from '../../core/schemas.js';
import { z } from 'zod';
import type { Route } from './http.js';

export const metricRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v1/metrics',
    summary: 'The metric registry: name, description, type, required fields, params schema and keys, score range',
    response: z.array(MetricInfo),
    run: async () => ({ body: listMetrics() }),
  },
  {
    method: 'GET',
    path: '/v1/leaderboard',
    summary: 'Experiments ranked by the mean of a metric (judge_notator by default), with std, support, 95% confidence interval and the means of their other metrics',
    query: LeaderboardQuery,
    response: z.object({ entries: z.array(LeaderboardEntry) }),
    async run({ core, query }) {
      const entries = await leaderboard(core.db, { metricName: query.metric_name, datasetName: query.dataset_name, judgeModel: query.judge_model, limit: query.limit });
      return { body: { entries } };
    },
  },
];
