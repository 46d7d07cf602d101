/** Copy as code: the set as curl, as a YAML run file for `evalap run`, and as Python requests. */
import { useState } from 'preact/hooks';
import { asCurl, asPython, asYaml, setBody } from '../code-snippets';
import type { SetData } from './set';

function Snippet({ title, code }: { title: string; code: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(code);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <section class="snippet">
      <header>
        <h2>{title}</h2>
        <button type="button" onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </header>
      <pre tabIndex={0} aria-label={title}>
        <code>{code}</code>
      </pre>
    </section>
  );
}

export function CodeTab({ data }: { data: SetData }) {
  const body = setBody(data.set, data.experiments);
  const origin = location.origin;
  return (
    <div class="code">
      <p class="muted">
        The request that launches this set again. Provider keys are never returned by the API: set them in <code>$MODEL_API_KEY</code>/<code>$JUDGE_API_KEY</code>.
      </p>
      <Snippet title="YAML run file (evalap run)" code={asYaml(body)} />
      <Snippet title="curl" code={asCurl(body, origin)} />
      <Snippet title="Python requests" code={asPython(body, origin)} />
    </div>
  );
}
