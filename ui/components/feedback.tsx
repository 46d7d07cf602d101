/** What a view shows while it loads, when a request failed, or when there is nothing yet. */
import type { ComponentChildren } from 'preact';

export const Loading = ({ what = 'Loading' }: { what?: string }) => (
  <p class="muted" role="status">
    {what}…
  </p>
);

export const ErrorNote = ({ error }: { error: string }) => (
  <p class="error" role="alert">
    {error}
  </p>
);

export const Empty = ({ children }: { children: ComponentChildren }) => <p class="empty">{children}</p>;
