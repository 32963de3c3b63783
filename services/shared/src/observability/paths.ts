/**
 * Probe and scrape paths: excluded from traces and from the HTTP duration histogram, since they are
 * neither user traffic nor the services' real work.
 */
export function isUntracedPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?', 1)[0] ?? '';
  return path === '/metrics' || path === '/health' || path.startsWith('/health/');
}
