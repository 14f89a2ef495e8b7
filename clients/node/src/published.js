// The version-changed message and the hash, read strictly: anything from Redis may be
// garbage (a hand-typed HSET, a forged PUBLISH), so every reader here returns what it
// promises or throws MessageError saying what was wrong. The rules are the Python
// library's (wa_version_client/contract), so both languages accept the same messages.

import { InvalidVersion, isVersionArray, parseVersion, shown } from './version.js';

export const KINDS = Object.freeze(['fetch', 'pin', 'unpin']);

// How far ahead of this process's clock another writer's clock may be: an epoch further
// ahead is forged (it would make every subscriber ignore every real change).
export const EPOCH_SKEW_MS = 5 * 60 * 1000;

// Integers stored in the hash: plain decimal digits, no sign, no leading zeros.
const DIGITS = /^(0|[1-9][0-9]{0,18})$/;

/** Raised for a message or a hash that does not decode. */
export class MessageError extends Error {
  name = 'MessageError';
}

/**
 * A version as announced, and as a subscriber holds it: `array`, `string`, `seq`,
 * `epoch`, `changedAt`, `source`, `kind`, `previous` (an array or null). `(epoch, seq)`
 * orders them.
 */
export class PublishedVersion {
  constructor({ array, seq, epoch, changedAt = '', source = '', kind = 'fetch', previous = null }) {
    this.array = Object.freeze([...array]);
    this.string = this.array.join('.');
    this.seq = seq;
    this.epoch = epoch;
    this.changedAt = changedAt;
    this.source = source;
    this.kind = kind;
    this.previous = previous === null ? null : Object.freeze([...previous]);
    Object.freeze(this);
  }

  /** Whether this one is ordered after `other` (always, when `other` is null). */
  newerThan(other) {
    if (other === null || other === undefined) return true;
    if (this.epoch !== other.epoch) return this.epoch > other.epoch;
    return this.seq > other.seq;
  }

  /** Whether `other` carries the same (epoch, seq). */
  sameOrder(other) {
    return other !== null && this.epoch === other.epoch && this.seq === other.seq;
  }
}

/** Decode a version-changed message; MessageError for anything that is not one. */
export function decodeMessage(text) {
  const what = 'a version-changed message';
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new MessageError(`${what} is not JSON: ${error.message.slice(0, 80)}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new MessageError(`${what} is not a JSON object`);
  }
  const array = versionIn(data, what);
  const { previous = null, kind = 'fetch' } = data;
  if (previous !== null && (typeof previous !== 'object' || Array.isArray(previous))) {
    throw new MessageError(`${what}: previous is neither null nor a version`);
  }
  if (!KINDS.includes(kind)) {
    throw new MessageError(`${what}: kind ${shown(kind)} is not one of ${KINDS.join(', ')}`);
  }
  return new PublishedVersion({
    array,
    previous: previous === null ? null : parsed(text_(previous, 'string', what), what),
    seq: integer(data, 'seq', what),
    epoch: integer(data, 'epoch', what),
    changedAt: text_(data, 'changed_at', what),
    source: text_(data, 'source', what),
    kind,
  });
}

/**
 * What HGETALL of the version hash announces; null before any version was stored, or
 * while a field it is ordered by is malformed (the service starts a new epoch on its
 * next write, which every subscriber follows). MessageError says what is malformed.
 */
export function fromHash(fields) {
  const what = 'the stored version state';
  if (!fields || !fields.string) return null;
  const array = parsed(fields.string, what);
  if (fields.array !== JSON.stringify(array)) {
    throw new MessageError(`${what}: array ${shown(fields.array)} disagrees with ${fields.string}`);
  }
  const seq = storedInteger(fields.seq, 'seq', what);
  const epoch = storedInteger(fields.epoch, 'epoch', what);
  if (seq <= 0 || epoch <= 0) return null;
  return new PublishedVersion({
    array,
    seq,
    epoch,
    changedAt: fields.changed_at ?? '',
    source: fields.source ?? '',
  });
}

/** Whether `epoch` (ms) can be when a hash was first written: not ahead of now by more than a skew. */
export function plausibleEpoch(epoch, nowMs = Date.now()) {
  return epoch > 0 && epoch <= nowMs + EPOCH_SKEW_MS;
}

function versionIn(data, what) {
  const array = parsed(text_(data, 'string', what), what);
  const shownArray = data.array;
  if (!isVersionArray(shownArray) || shownArray.some((part, i) => part !== array[i])) {
    throw new MessageError(`${what}: array disagrees with string ${array.join('.')}`);
  }
  return array;
}

function parsed(text, what) {
  try {
    return parseVersion(text);
  } catch (error) {
    if (error instanceof InvalidVersion) throw new MessageError(`${what}: ${error.message}`);
    throw error;
  }
}

function present(data, name, what) {
  if (!Object.hasOwn(data, name)) throw new MessageError(`${what}: ${name} is missing`);
  return data[name];
}

function text_(data, name, what) {
  const value = present(data, name, what);
  if (typeof value !== 'string') {
    throw new MessageError(`${what}: ${name} is ${shown(value)}, not a string`);
  }
  return value;
}

// A JSON integer ≥ 1 that a double holds exactly (epochs are ms, sequences small).
function integer(data, name, what) {
  const value = present(data, name, what);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new MessageError(`${what}: ${name} is ${shown(value)}, not an integer ≥ 1`);
  }
  return value;
}

function storedInteger(value, name, what) {
  if (value === undefined || value === '') return 0;
  if (!DIGITS.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new MessageError(`${what}: ${name} is ${shown(value)}, not a whole number`);
  }
  return Number(value);
}
