// wa-version-client: follow the WhatsApp Web version wa-version-service holds in Redis.

export {
  BUNDLED_VERSION,
  closeSharedSubscriber,
  fetchLatestBaileysVersion,
  fetchLatestWaWebVersion,
  sharedSubscriber,
} from './baileys.js';
export { DEFAULT_PREFIX, keysFor } from './keys.js';
export { MessageError, PublishedVersion, decodeMessage, fromHash } from './published.js';
export { ConfigError, optionsFromEnv } from './settings.js';
export { VersionSubscriber } from './subscriber.js';
export { InvalidVersion, compareVersions, parseVersion, versionOf } from './version.js';
