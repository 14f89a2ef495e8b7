// The WhatsApp Web version: [2, 3000, N], written 2.3000.N. whatsmeow stores each part
// as a uint32, so every part must fit one (the Python library checks the same).

export const UINT32_MAX = 2 ** 32 - 1;

// Three ASCII decimals without leading zeros (a zero alone is fine), at most 10 digits
// each, as a uint32 has; the range is checked after.
const VERSION = /^(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$/;

/** Raised for anything that is not a version. */
export class InvalidVersion extends Error {
  name = 'InvalidVersion';
}

/** The parts of `2.3000.N`; InvalidVersion for anything else. */
export function parseVersion(text) {
  const match = typeof text === 'string' ? VERSION.exec(text) : null;
  const parts = match ? match.slice(1).map(Number) : null;
  if (parts === null || parts.some((part) => part > UINT32_MAX)) {
    throw new InvalidVersion(`${shown(text)} is not a version like 2.3000.1012345678`);
  }
  return parts;
}

/** Whether `value` is an array of three uint32 integers. */
export function isVersionArray(value) {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    value.every((part) => Number.isInteger(part) && part >= 0 && part <= UINT32_MAX)
  );
}

/**
 * The version in what a connection manager holds: [2, 3000, N] (Baileys' form),
 * "2.3000.N", or anything whose `.array` is one (a PublishedVersion).
 */
export function versionOf(held) {
  if (typeof held === 'string') return parseVersion(held);
  if (isVersionArray(held)) return [...held];
  if (held !== null && typeof held === 'object' && isVersionArray(held.array)) {
    return [...held.array];
  }
  throw new InvalidVersion(`${shown(held)} is not a version, a 2.3000.N string or an array`);
}

/** Negative when version `a` is older than `b`, zero when equal, positive when newer. */
export function compareVersions(a, b) {
  for (let i = 0; i < 3; i += 1) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

/** A short, safe rendering of a bad value for an error message or a log line. */
export function shown(value) {
  let text;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
