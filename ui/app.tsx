/** The page: a navigation bar, the view the hash names, and the API key prompt. */
import { Route, Router, Switch } from 'wouter-preact';
import { KeyDialog } from './components/key-dialog';
import { useHashPath } from './hash-location';
import { CompareView } from './views/compare';
import { DatasetsView } from './views/datasets';
import { LaunchView } from './views/launch';
import { LeaderboardView } from './views/leaderboard';
import { MetricsView } from './views/metrics';
import { SchedulesView } from './views/schedules';
import { SetView } from './views/set';
import { SetsView } from './views/sets';

const NAV = [
  { href: '/', label: 'Experiment sets', match: (p: string) => p === '/' || p.startsWith('/set') || p.startsWith('/experiment') },
  { href: '/compare', label: 'Compare' },
  { href: '/leaderboard', label: 'Leaderboard' },
  { href: '/datasets', label: 'Datasets' },
  { href: '/metrics', label: 'Metrics' },
  { href: '/schedules', label: 'Schedules' },
  { href: '/launch', label: 'Launch' },
];

function Nav() {
  const [path] = useHashPath();
  return (
    <header class="topbar">
      <a class="brand" href="#/">
        Evalap
      </a>
      <nav aria-label="Main">
        {NAV.map((n) => {
          const current = n.match ? n.match(path) : path.startsWith(n.href);
          return (
            <a key={n.href} href={`#${n.href}`} class={current ? 'current' : ''} aria-current={current ? 'page' : undefined}>
              {n.label}
            </a>
          );
        })}
      </nav>
      <a class="docs-link" href="docs">
        API docs
      </a>
    </header>
  );
}

export function App() {
  return (
    <Router hook={useHashPath} hrefs={useHashPath.hrefs}>
      <Nav />
      <main>
        <Switch>
          <Route path="/">{() => <SetsView />}</Route>
          <Route path="/set/:id/:tab?">{(p) => <SetView kind="set" id={p.id} tab={p.tab} />}</Route>
          <Route path="/experiment/:id/:tab?">{(p) => <SetView kind="experiment" id={p.id} tab={p.tab} />}</Route>
          <Route path="/compare">{() => <CompareView />}</Route>
          <Route path="/leaderboard">{() => <LeaderboardView />}</Route>
          <Route path="/datasets">{() => <DatasetsView />}</Route>
          <Route path="/metrics">{() => <MetricsView />}</Route>
          <Route path="/schedules">{() => <SchedulesView />}</Route>
          <Route path="/launch">{() => <LaunchView />}</Route>
          <Route>
            <h1>Not found</h1>
            <p>
              No such view. <a href="#/">Back to the experiment sets</a>.
            </p>
          </Route>
        </Switch>
      </main>
      <KeyDialog />
    </Router>
  );
}
