// GitHub's pagination: `per_page` (default 30, at most 100) and `page`
// (from 1), with a Link header pointing at the first, previous, next and last
// pages (RFC 8288). Values that are not positive whole numbers fall back to the
// defaults, as GitHub does. Pure.

export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 100;

export interface Page<T> {
  items: T[];
  /** The Link header value, or null when everything fits on one page. */
  link: string | null;
}

export function paginate<T>(all: readonly T[], query: URLSearchParams, pageUrl: string): Page<T> {
  const perPage = Math.min(positiveInt(query.get("per_page")) ?? DEFAULT_PER_PAGE, MAX_PER_PAGE);
  const page = positiveInt(query.get("page")) ?? 1;
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((page - 1) * perPage, page * perPage);
  if (lastPage === 1 && page === 1) return { items, link: null };
  const href = (n: number) => {
    const url = new URL(pageUrl);
    url.searchParams.set("per_page", String(perPage));
    url.searchParams.set("page", String(n));
    return `<${url.href}>`;
  };
  const links: string[] = [];
  if (page > 1) links.push(`${href(Math.min(page - 1, lastPage))}; rel="prev"`);
  if (page < lastPage) links.push(`${href(page + 1)}; rel="next"`);
  if (page < lastPage) links.push(`${href(lastPage)}; rel="last"`);
  if (page > 1) links.push(`${href(1)}; rel="first"`);
  return { items, link: links.join(", ") };
}

function positiveInt(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}
