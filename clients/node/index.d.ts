// Types of wa-version-client (the code is plain JavaScript in src/).

import { EventEmitter } from 'node:events';
import type { RedisOptions } from 'ioredis';
import type { Keys, PublishedVersionFields, WAVersion } from './src/contract.generated.js';

export type { Keys, PublishedVersionFields, WAVersion };

/**
 * A version as the service announced it; `(epoch, seq)` orders them. Its fields are the
 * message's (PublishedVersionFields, generated from the contract model); the array is
 * frozen at run time, and typed as Baileys' WAVersion so `makeWASocket({ version:
 * current.array })` checks.
 */
export interface PublishedVersion extends PublishedVersionFields {}
export declare class PublishedVersion {
  newerThan(other: PublishedVersion | null | undefined): boolean;
  sameOrder(other: PublishedVersion | null): boolean;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface SubscriberOptions {
  /** Redis key prefix, as REDIS_PREFIX (default "whatsapp"). */
  prefix?: string;
  /** More ioredis options: `tls`, `password`, or `sentinels` and `name` for a Sentinel. */
  redis?: RedisOptions;
  resyncIntervalMs?: number;
  pingIntervalMs?: number;
  /** Reports ask for at most one refresh per this interval, cluster-wide (10 min). */
  reportIntervalMs?: number;
  refreshWaitMs?: number;
  jobStreamMaxlen?: number;
  logger?: Logger;
  /** The subscriber never keeps the process alive by itself. */
  unref?: boolean;
  /** How old the service's last successful refresh may be for latest() (2 h). */
  maxAgeMs?: number;
  /** This manager's id in the fleet (WA_MANAGER_ID): 1 to 64 of A-Z a-z 0-9 . _ -, else ConfigError; `<host>-<pid>` by default. */
  managerId?: string;
}

/** Whether the version held is the latest (README, "What latest means"); if not, why. */
export type LatestVerdict =
  | { isLatest: true }
  | { isLatest: false; reason: 'unsynced' | 'failed' | 'never' | 'stale' | 'behind'; message: string };

export type ChangeListener = (
  old: PublishedVersion | null,
  current: PublishedVersion,
) => void | Promise<void>;

/** Holds the current WhatsApp Web version and follows every change. */
export declare class VersionSubscriber extends EventEmitter {
  constructor(url?: string, options?: SubscriberOptions);
  /** REDIS_URL (or REDIS_TLS_URL, REDIS_SSL_CERT_REQS, REDIS_SSL_CA_CERTS), REDIS_PREFIX, REFRESH_MIN_INTERVAL, REFRESH_WAIT, JOB_STREAM_MAXLEN, WA_MANAGER_ID. */
  static fromEnv(env?: NodeJS.ProcessEnv, options?: SubscriberOptions): VersionSubscriber;
  /** The version to use for the next connection; null until one is known. No I/O. */
  readonly current: PublishedVersion | null;
  /** When the version `current` holds was applied, by performance.now(); 0 before any version. */
  readonly currentSince: number;
  /** Pushes that were neither a message on the channel nor a confirmation (a tracking invalidation, say): counted, ignored. */
  readonly ignoredPushes: number;
  readonly connected: boolean;
  /** The subscription is up and the hash was read since: `current` is current. */
  readonly synced: boolean;
  /** The hash the version is read from, e.g. "whatsapp:version". */
  readonly key: string;
  /** This manager's id in the fleet: the subscribed connection is named `wav1:<id>:node:<version held, or ->`. */
  readonly managerId: string;
  /** Whether `current` is the latest, judged on the hash as last read. No I/O. */
  latest(options?: { maxAgeMs?: number }): LatestVerdict;
  /** Whether an attempt to reach or read Redis failed and none has succeeded since. */
  readonly unreachable: boolean;
  start(options?: { timeoutMs?: number; signal?: AbortSignalLike | null; untilFailure?: boolean }): Promise<void>;
  resync(): Promise<void>;
  waitNewer(
    than: PublishedVersion | null,
    options?: { withinMs?: number },
  ): Promise<PublishedVersion | null>;
  /** Resolves to whether this call enqueued the refresh. */
  reportOutdated(versionUsed?: Readonly<WAVersion> | string | PublishedVersion | null): Promise<boolean>;
  close(): Promise<void>;
  on(event: 'change', listener: ChangeListener): this;
  once(event: 'change', listener: ChangeListener): this;
  off(event: 'change', listener: ChangeListener): this;
}

/**
 * What Baileys' fetchLatestWaWebVersion() and fetchLatestBaileysVersion() answer: the
 * latest version, or another with `isLatest: false` and an `error` saying why. It
 * assigns to the answer types of Baileys 6 and 7.
 */
export type WaWebVersionAnswer =
  | { version: WAVersion; isLatest: true; error?: undefined }
  | { version: WAVersion; isLatest: false; error: unknown };

/** An AbortSignal, or axios' GenericAbortSignal (which Baileys 6 code may pass). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener?: (...args: any[]) => any;
  removeEventListener?: (...args: any[]) => any;
}

export interface FetchOptions {
  /** A started subscriber of your own; default: one per process, from the environment. */
  subscriber?: VersionSubscriber;
  /** How long the first call waits for Redis (3000); later calls never wait. */
  timeoutMs?: number;
  /** Answered when no version is known (default BUNDLED_VERSION). */
  fallback?: Readonly<WAVersion>;
  /** How old the service's last successful refresh may be for isLatest (the subscriber's, 2 h). */
  maxAgeMs?: number;
  /** An aborted call answers at once, `isLatest: false`, the signal's reason as `error`. */
  signal?: AbortSignalLike | null;
}

/**
 * The options Baileys-typed code passes: fetch's `RequestInit` (Baileys 7), axios'
 * `AxiosRequestConfig` (Baileys 6), `{}`. Accepted; only `signal` is read.
 */
export type BaileysRequestOptions = object;

/**
 * A drop-in for Baileys' fetchLatestWaWebVersion(), answered from what the service
 * holds. Never rejects; assignable to Baileys 6's and 7's function of the same name.
 */
export declare function fetchLatestWaWebVersion(
  options?: FetchOptions | BaileysRequestOptions,
): Promise<WaWebVersionAnswer>;
/** The same answer as fetchLatestWaWebVersion() (the service's version), under Baileys' other name. */
export declare function fetchLatestBaileysVersion(
  options?: FetchOptions | BaileysRequestOptions,
): Promise<WaWebVersionAnswer>;
export declare function sharedSubscriber(env?: NodeJS.ProcessEnv): VersionSubscriber;
export declare function closeSharedSubscriber(): Promise<void>;
export declare const BUNDLED_VERSION: Readonly<WAVersion>;

export declare class MessageError extends Error {}
export declare class ConfigError extends Error {}
export declare class InvalidVersion extends Error {}

export declare function decodeMessage(text: string): PublishedVersion;
export declare function fromHash(fields: Record<string, string>): PublishedVersion | null;
export declare function parseVersion(text: string): WAVersion;
export declare function versionOf(held: unknown): WAVersion;
export declare function compareVersions(a: Readonly<WAVersion>, b: Readonly<WAVersion>): number;
export declare const DEFAULT_PREFIX: string;
export declare function keysFor(prefix?: string): Keys;
export declare function optionsFromEnv(env?: NodeJS.ProcessEnv): {
  url: string;
  redisOptions: RedisOptions;
  prefix: string;
  reportIntervalMs: number;
  refreshWaitMs: number;
  jobStreamMaxlen: number;
  managerId?: string;
};
