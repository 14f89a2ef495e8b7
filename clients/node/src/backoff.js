// How long to wait before reconnecting: the first retry after 0.1-0.2 s, then up to twice
// as long each time, never more than 1 s, each wait drawn at random between half its
// ceiling and the ceiling. A fleet that lost Redis at the same instant (a restart) then
// spreads its attempts instead of hammering the restarting server. The Python library
// waits the same (wa_version_client/backoff.py).

export const INITIAL_MS = 200;
export const MAX_MS = 1000;

/** The wait before attempt `times` (1 for the first retry), in ms. */
export function reconnectDelay(times, random = Math.random) {
  const ceiling = Math.min(MAX_MS, INITIAL_MS * 2 ** Math.min(times - 1, 10));
  return ceiling / 2 + random() * (ceiling / 2);
}
