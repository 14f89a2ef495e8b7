// The version-changed message and the hash, read strictly: anything from Redis may be
// garbage (a hand-typed HSET, a forged PUBLISH), so every reader here returns what it
// promises or throws MessageError saying what was wrong. The rules are the Python
// library's (wa_version_client/contract), so both languages accept the same messages;
// the message's fields come from the contract model (contract.generated.js), and each is
// read by the reader of its type below.

import { MESSAGE } from './contract.generated.js';
import { InvalidVersion, isVersionArray, parseVersion, shown } from './version.js';

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
 * A version as announced, and as a subscriber holds it: every field of the message
 * (contract.generated.d.ts), `array` and `string` first; `previous` is an array or null.
 * `(epoch, seq)` orders them.
 */
export class PublishedVersion {
  constructor(fields) {
    for (const field of MESSAGE.fields) {
      if (field.flat) {
        this.array = Object.freeze([...fields.array]);
        this.string = this.array.join('.');
      } else {
        const given = fields[field.prop];
        const value = given !== undefined ? given : (field.default ?? EMPTY[field.type]);
        this[field.prop] = field.type === 'version' && value !== null ? Object.freeze([...value]) : value;
      }
    }
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

// What a field the constructor is not given holds, when the model gives it no default.
const EMPTY = { text: '', version: null };

/** Decode a version-changed message; MessageError for anything that is not one. */
export function decodeMessage(text) {
  const what = MESSAGE.what;
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new MessageError(`${what} is not JSON: ${error.message.slice(0, 80)}`);
  }
  if (!isObject(data)) throw new MessageError(`${what} is not a JSON object`);
  const fields = {};
  for (const field of MESSAGE.fields) {
    if (field.flat) fields.array = versionIn(data, what);
    else fields[field.prop] = readField(data, field, what);
  }
  return new PublishedVersion(fields);
}

// One field: absent (its default, if the model lets it be absent), null (if it may be),
// or a value its type's reader takes.
function readField(data, field, what) {
  if (!Object.hasOwn(data, field.name)) {
    if (!field.required) return field.default;
    throw new MessageError(`${what}: ${field.name} is missing`);
  }
  const value = data[field.name];
  if (value === null && field.nullable) return null;
  return READERS[field.type](value, field, what);
}

const READERS = {
  // A JSON integer in bounds that a double holds exactly (epochs are ms, sequences small).
  integer(value, { name, minimum, maximum }, what) {
    if (!Number.isSafeInteger(value) || value < minimum || value > maximum) {
      throw new MessageError(`${what}: ${name} is ${shown(value)}, not an integer ≥ ${minimum}`);
    }
    return value;
  },
  text(value, { name }, what) {
    if (typeof value !== 'string') throw new MessageError(`${what}: ${name} is ${shown(value)}, not a string`);
    return value;
  },
  flag(value, { name }, what) {
    if (typeof value !== 'boolean') throw new MessageError(`${what}: ${name} is ${shown(value)}, not true or false`);
    return value;
  },
  choice(value, { name, values }, what) {
    if (!values.includes(value)) {
      throw new MessageError(`${what}: ${name} ${shown(value)} is not one of ${values.join(', ')}`);
    }
    return value;
  },
  const(value, { name, value: only }, what) {
    if (value !== only) throw new MessageError(`${what}: ${name} is ${shown(value)}, not ${shown(only)}`);
    return value;
  },
  // {"array", "string"}: the array, read from the string (and checked against the array).
  version(value, { name, checkArray }, what) {
    if (!isObject(value)) throw new MessageError(`${what}: ${name} is not a version object`);
    const array = parsed(text_(value, 'string', what), what);
    if (checkArray && !sameArray(value.array, array)) {
      throw new MessageError(`${what}: ${name}'s array disagrees with its string`);
    }
    return array;
  },
};

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
  if (!sameArray(data.array, array)) {
    throw new MessageError(`${what}: array disagrees with string ${array.join('.')}`);
  }
  return array;
}

function sameArray(shownArray, array) {
  return isVersionArray(shownArray) && shownArray.every((part, i) => part === array[i]);
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parsed(text, what) {
  try {
    return parseVersion(text);
  } catch (error) {
    if (error instanceof InvalidVersion) throw new MessageError(`${what}: ${error.message}`);
    throw error;
  }
}

function text_(data, name, what) {
  if (!Object.hasOwn(data, name)) throw new MessageError(`${what}: ${name} is missing`);
  return READERS.text(data[name], { name }, what);
}

function storedInteger(value, name, what) {
  if (value === undefined || value === '') return 0;
  if (!DIGITS.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new MessageError(`${what}: ${name} is ${shown(value)}, not a whole number`);
  }
  return Number(value);
}
