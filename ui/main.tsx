/** The web interface's entry point (built by scripts/build.js's `ui` target into dist/ui). */
import { render } from 'preact';
import { App } from './app';
import './styles.css';

render(<App />, document.getElementById('app')!);
