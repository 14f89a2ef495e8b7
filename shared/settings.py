"""Settings, read once from the environment at start-up and passed down.

Every setting has a default that works on a laptop except `ADMIN_SECRET`,
which the web process requires (see `Settings.require_admin_secret`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.errors import ConfigError
from wa_version_client import runtime
from wa_version_client.deployment import (
    DEFAULT_REDIS_URL,
    Deployment,
    deployment_for,
    redis_url_from_env,
)
from wa_version_client.runtime import EnvReader

SESSION_KEY_LABEL = b"wa-version-service admin page session key v1"
DEFAULT_VERSION_URLS = ("https://web.whatsapp.com/sw.js", "https://web.whatsapp.com/")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a process of this service can be told, with its default."""

    redis_url: str = DEFAULT_REDIS_URL
    # Never printed: repr=False keeps it out of logs and tracebacks that show the settings.
    admin_secret: str = field(default="", repr=False)
    # Also accepted, while clients move to a new ADMIN_SECRET.
    admin_secret_previous: str = field(default="", repr=False)
    # Also accepted for GET /metrics, as "Authorization: Bearer <token>" (Prometheus'
    # bearer_token), so the scraper need not hold the admin secret.
    metrics_token: str = field(default="", repr=False)
    # Signs the admin page's session cookie. Empty: derived from ADMIN_SECRET
    # (`session_key`), so every web process agrees and a new secret logs everyone out.
    session_secret: str = field(default="", repr=False)
    # More failed authentications than this from one address within the window: 429.
    auth_failure_limit: int = 10
    auth_failure_window: float = 60.0
    # Proxies in front of the web process that append to X-Forwarded-For (Heroku: 1).
    # The client is the entry the outermost of them wrote; 0 ignores the header.
    trusted_proxy_hops: int = 0
    # The web waits this long for a request's headers (from the connection opening or the
    # request's first byte) and for its body (from the end of the headers, whether or not
    # the route reads it): past either, 408 and the connection closed.
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    # Connections the web holds at once, in all (lowered to fit the open-file limit) and
    # from one peer address (0: no limit; not applied behind trusted proxies, whose
    # addresses are the peers): one more is answered 503 and closed as it opens.
    max_connections: int = 2000
    max_connections_per_address: int = 100
    # The web's Redis connections, at most: a request finding them all busy waits for one
    # (5 s at most, then 503). Redis runs one command at a time; a few suffice.
    web_redis_connections: int = 16
    # Event streams (GET /admin/whatsapp/version/events) one web process serves at once;
    # one more is a 503. Half of max_connections: streams never crowd out other requests.
    max_event_streams: int = 1000
    # An open event stream gets a comment this often, so proxies keep it open.
    event_ping_interval: float = 15.0
    redis_prefix: str = runtime.PREFIX
    version_urls: tuple[str, ...] = DEFAULT_VERSION_URLS
    # A force=false refresh inside this many seconds of the last attempt fetches nothing.
    refresh_min_interval: float = runtime.REFRESH_MIN_INTERVAL
    # The workers refresh on their own this often (one of them per interval); 0: never.
    auto_refresh_interval: float = 3600.0
    # The worker gives up on the upstream after this long, retries included.
    refresh_deadline: float = 20.0
    # The API waits this long for the worker's answer before a 504. Above the refresh
    # deadline, below Heroku's 30 s router timeout.
    refresh_wait: float = runtime.REFRESH_WAIT
    # One upstream request may take this long.
    fetch_timeout: float = 10.0
    fetch_attempts: int = 4
    # The first retry waits about this long; each later one up to twice as long (max 10x).
    fetch_backoff: float = 0.5
    # How far into a body (as read, and as decoded) client_revision is looked for.
    fetch_max_bytes: int = 4 * 1024 * 1024
    # Hosts besides a source's own a redirect may go to ("cdn.example.net", or
    # "*.example.net" for any host under it); worker/redirects.py says what else holds.
    fetch_redirect_hosts: tuple[str, ...] = ()
    # A job delivered to a worker that has not acknowledged it for this long is taken
    # over by another worker: longer than the slowest job.
    job_claim_idle: float = 30.0
    # A job delivered more often than this (its workers kept dying) goes to dead letters.
    job_max_deliveries: int = 5
    # The stream keeps about this many jobs, handled or not.
    job_stream_maxlen: int = runtime.JOB_STREAM_MAXLEN
    # How many applied versions the history keeps.
    history_length: int = 100
    # A state write is announced only once this many replicas acknowledged it (WAIT),
    # within redis_wait_timeout; 0 announces at once (a single server).
    redis_wait_replicas: int = 0
    redis_wait_timeout: float = 1.0
    # How long the answer to a job stays readable in Redis.
    result_ttl: float = 60.0
    # One worker at a time reads jobs; its lease lasts this long unless renewed.
    worker_lease_ttl: float = 5.0
    # On SIGTERM the worker finishes the jobs in hand for this long, then hands them back.
    worker_shutdown_grace: float = 5.0
    # The deployment redis_url names, chosen once (wa_version_client.deployment): every
    # process connects, follows the primary and waits for replicas through it.
    deployment: Deployment = field(init=False, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `env` (the process environment by default)."""
        env = os.environ if env is None else env
        defaults = cls()
        read = EnvReader(env)
        duration, integer = read.duration, read.integer
        urls = _listed(env.get("WA_VERSION_URL", ""))
        return cls(
            redis_url=redis_url_from_env(env),
            admin_secret=env.get("ADMIN_SECRET", ""),
            admin_secret_previous=env.get("ADMIN_SECRET_PREVIOUS", ""),
            metrics_token=env.get("METRICS_TOKEN", ""),
            session_secret=env.get("SESSION_SECRET", ""),
            auth_failure_limit=integer("AUTH_FAILURE_LIMIT", defaults.auth_failure_limit),
            auth_failure_window=duration("AUTH_FAILURE_WINDOW", defaults.auth_failure_window),
            trusted_proxy_hops=integer("TRUSTED_PROXY_HOPS", defaults.trusted_proxy_hops, 0),
            header_timeout=duration("HEADER_TIMEOUT", defaults.header_timeout),
            body_timeout=duration("BODY_TIMEOUT", defaults.body_timeout),
            max_connections=integer("MAX_CONNECTIONS", defaults.max_connections),
            max_connections_per_address=integer(
                "MAX_CONNECTIONS_PER_ADDRESS", defaults.max_connections_per_address, 0
            ),
            web_redis_connections=integer("WEB_REDIS_CONNECTIONS", defaults.web_redis_connections),
            max_event_streams=integer("MAX_EVENT_STREAMS", defaults.max_event_streams, 0),
            event_ping_interval=duration("EVENT_PING_INTERVAL", defaults.event_ping_interval),
            redis_prefix=read.text("REDIS_PREFIX", defaults.redis_prefix),
            version_urls=urls or DEFAULT_VERSION_URLS,
            refresh_min_interval=duration("REFRESH_MIN_INTERVAL", defaults.refresh_min_interval),
            auto_refresh_interval=duration("AUTO_REFRESH_INTERVAL", defaults.auto_refresh_interval),
            refresh_deadline=duration("REFRESH_DEADLINE", defaults.refresh_deadline),
            refresh_wait=duration("REFRESH_WAIT", defaults.refresh_wait),
            fetch_timeout=duration("FETCH_TIMEOUT", defaults.fetch_timeout),
            fetch_attempts=integer("FETCH_ATTEMPTS", defaults.fetch_attempts),
            fetch_backoff=duration("FETCH_BACKOFF", defaults.fetch_backoff),
            fetch_max_bytes=integer("FETCH_MAX_BYTES", defaults.fetch_max_bytes),
            fetch_redirect_hosts=_listed(env.get("FETCH_REDIRECT_HOSTS", "").lower()),
            job_claim_idle=duration("JOB_CLAIM_IDLE", defaults.job_claim_idle),
            job_max_deliveries=integer("JOB_MAX_DELIVERIES", defaults.job_max_deliveries),
            job_stream_maxlen=integer("JOB_STREAM_MAXLEN", defaults.job_stream_maxlen),
            history_length=integer("HISTORY_LENGTH", defaults.history_length),
            redis_wait_replicas=integer("REDIS_WAIT_REPLICAS", defaults.redis_wait_replicas, 0),
            redis_wait_timeout=duration("REDIS_WAIT_TIMEOUT", defaults.redis_wait_timeout),
            result_ttl=duration("RESULT_TTL", defaults.result_ttl),
            worker_lease_ttl=duration("WORKER_LEASE_TTL", defaults.worker_lease_ttl),
            worker_shutdown_grace=duration("WORKER_SHUTDOWN_GRACE", defaults.worker_shutdown_grace),
        )

    def __post_init__(self) -> None:
        """Refuse combinations that cannot work."""
        _check_upstream(self.version_urls, self.fetch_redirect_hosts)
        deployment = deployment_for(self.redis_url)
        deployment.check_prefix(self.redis_prefix)
        if self.redis_wait_replicas and not deployment.replicated_writes:
            raise ConfigError(
                f"REDIS_WAIT_REPLICAS is not supported on {deployment.description} yet"
            )
        object.__setattr__(self, "deployment", deployment)  # frozen: set once, here
        if self.refresh_wait <= self.refresh_deadline:
            raise ConfigError("REFRESH_WAIT must be longer than REFRESH_DEADLINE")
        if self.job_claim_idle <= self.refresh_deadline:
            raise ConfigError("JOB_CLAIM_IDLE must be longer than REFRESH_DEADLINE")
        if self.redis_wait_replicas and not 0.001 <= self.redis_wait_timeout <= 4:
            # WAIT 0 blocks forever, and past the 5 s socket timeout the connection drops.
            raise ConfigError("REDIS_WAIT_TIMEOUT must be between 1ms and 4s")
        if self.worker_lease_ttl < 0.1:
            raise ConfigError("WORKER_LEASE_TTL must be at least 100ms")
        self._check_web_deadlines()

    def _check_web_deadlines(self) -> None:
        if min(self.header_timeout, self.body_timeout) <= 0:
            raise ConfigError("HEADER_TIMEOUT and BODY_TIMEOUT must be above 0")
        if self.event_ping_interval <= 0:
            raise ConfigError("EVENT_PING_INTERVAL must be above 0")

    def secrets(self) -> tuple[str, ...]:
        """Every secret these settings hold, for the log formatter to mask."""
        in_urls = (
            urllib.parse.unquote(urllib.parse.urlsplit(u).password or "") for u in self.version_urls
        )
        held = (
            self.admin_secret,
            self.admin_secret_previous,
            self.metrics_token,
            self.session_secret,
        )
        return tuple(s for s in (*held, *self.deployment.secrets, *in_urls) if s)

    def session_key(self) -> str:
        """The key signing the admin page's sessions: SESSION_SECRET, or an HMAC of
        ADMIN_SECRET under a fixed label (the secret itself never leaves the process)."""
        if self.session_secret:
            return self.session_secret
        derived = hmac.new(self.admin_secret.encode(), SESSION_KEY_LABEL, hashlib.sha256)
        return derived.hexdigest()

    def require_admin_secret(self) -> None:
        """Raise unless an admin secret is set: the web process does not start without one."""
        if not self.admin_secret:
            raise ConfigError(
                "ADMIN_SECRET is not set: the admin API refuses to start without a secret"
            )


def _listed(value: str) -> tuple[str, ...]:
    """The entries of a comma-separated setting, stripped, empty ones left out."""
    return tuple(entry.strip() for entry in value.split(",") if entry.strip())


def _check_upstream(urls: tuple[str, ...], redirect_hosts: tuple[str, ...]) -> None:
    for url in urls:
        if not url.startswith(("http://", "https://", "file://")):
            raise ConfigError(f"WA_VERSION_URL entry {url[:80]!r} is not http(s):// or file://")
    for host in redirect_hosts:
        # A URL or a user@host here is a mistake that would otherwise match nothing.
        if any(c in host for c in "/@ ") or host != host.lower():
            raise ConfigError(f"FETCH_REDIRECT_HOSTS entry {host[:80]!r} is not a host name")
