/** A row of links between the parts of a view; the current one is marked for assistive technology too. */
export function Tabs({ items, current, label }: { items: { id: string; label: string; href: string }[]; current: string; label: string }) {
  return (
    <nav class="tabs" aria-label={label}>
      {items.map((t) => (
        <a key={t.id} href={t.href} class={t.id === current ? 'current' : ''} aria-current={t.id === current ? 'page' : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}
