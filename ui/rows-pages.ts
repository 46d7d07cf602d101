/**
 * The rows of an experiment as the details table scrolls: fetched a page at a
 * time from GET /v1/experiment/{id}/rows, only the pages the user reaches,
 * so a 100,000-row experiment opens as fast as a small one.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from './api';
import type { Row, RowsPage } from './types';

export const PAGE_SIZE = 100;

/** The first rows of an experiment, up to about `max` (whole pages of 500), with how many it has. */
export async function firstRows(experimentId: number, max: number): Promise<{ rows: Row[]; total: number }> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  let total = 0;
  do {
    const page: RowsPage = await get<RowsPage>(`/v1/experiment/${experimentId}/rows?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    rows.push(...page.rows);
    total = page.total;
    cursor = page.next_cursor;
  } while (cursor && rows.length < max);
  return { rows, total };
}

/**
 * The cursor of the page starting at `offset`. The route's cursors are the
 * offset of the next page (core/cursor.ts, offsetCursor: `at:<offset>` in base64url): building
 * one lets a scrollbar dragged to row 60,000 load that page alone instead of
 * the 600 before it.
 */
const cursorAt = (offset: number) => (offset === 0 ? undefined : btoa(`at:${offset}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));

export interface RowsState {
  /** Rows matching the filters; undefined until the first page arrives. */
  total: number | undefined;
  rowAt(index: number): Row | undefined;
  /** Loads the pages holding rows first..last, if not loaded or loading. */
  want(first: number, last: number): void;
  error: string | undefined;
}

export function useRowsPages(experimentId: number | undefined, query: string): RowsState {
  const pages = useRef(new Map<number, Row[] | 'loading'>());
  const [total, setTotal] = useState<number>();
  const [error, setError] = useState<string>();
  const [, setVersion] = useState(0);
  const generation = useRef(0);

  const load = (page: number) => {
    if (experimentId === undefined || pages.current.has(page)) return;
    pages.current.set(page, 'loading');
    const mine = generation.current;
    const cursor = cursorAt(page * PAGE_SIZE);
    const params = new URLSearchParams(query);
    params.set('limit', String(PAGE_SIZE));
    if (cursor) params.set('cursor', cursor);
    get<RowsPage>(`/v1/experiment/${experimentId}/rows?${params}`).then(
      (res) => {
        if (mine !== generation.current) return;
        pages.current.set(page, res.rows);
        setTotal(res.total);
        setVersion((v) => v + 1);
      },
      (err: Error) => {
        if (mine !== generation.current) return;
        pages.current.delete(page);
        setError(err.message);
      },
    );
  };

  useEffect(() => {
    generation.current++;
    pages.current = new Map();
    setTotal(undefined);
    setError(undefined);
    load(0);
  }, [experimentId, query]);

  return {
    total,
    error,
    rowAt(index) {
      const page = pages.current.get(Math.floor(index / PAGE_SIZE));
      return page === undefined || page === 'loading' ? undefined : page[index % PAGE_SIZE];
    },
    want(first, last) {
      for (let p = Math.floor(first / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p++) load(p);
    },
  };
}
