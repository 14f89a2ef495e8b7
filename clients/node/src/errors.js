// The client's own errors, in a module of their own so that any module may raise them.

/** Raised for a setting that does not parse. */
export class ConfigError extends Error {
  name = 'ConfigError';
}
