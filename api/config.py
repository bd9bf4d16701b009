"""The service's settings: the shared `DISCOVERY_*` settings plus the limits of the HTTP service."""

from __future__ import annotations

from graph.settings import Settings


class ServiceSettings(Settings):
    """`graph.settings.Settings` with the service's bounds (all `DISCOVERY_*` variables)."""

    #: largest accepted upload, in megabytes (a whole data directory, zipped or as files)
    max_upload_mb: int = 200
    #: largest total of the uploaded tables once unpacked (from a .zip), in megabytes;
    #: unset, the same as `max_upload_mb`. Validating costs about 15–20 times this in memory.
    max_unpacked_mb: int | None = None
    #: largest page of a list
    max_page_size: int = 200
    #: how many invitable companies a cached ranked list keeps per tier and date
    list_size: int = 2000
    #: ranked lists kept in memory (per tier, date, model and store version)
    cached_lists: int = 8
    #: sustained requests per second and burst allowed per API key (token bucket)
    rate_per_second: float = 20.0
    rate_burst: int = 60
    #: failed authentications allowed per client address: a burst, then this many a minute
    #: (over it, every request from that address answers 429 until the bucket refills)
    failed_auth_burst: int = 20
    failed_auth_per_minute: float = 10.0
    #: largest neighbourhood drawn for a company (nodes besides the company itself)
    max_graph_nodes: int = 60

    @property
    def upload_limits(self) -> tuple[int, int]:
        """(bytes received, bytes unpacked) an upload may reach."""
        unpacked = self.max_upload_mb if self.max_unpacked_mb is None else self.max_unpacked_mb
        return self.max_upload_mb << 20, unpacked << 20


def service_settings(base: Settings | None = None) -> ServiceSettings:
    """Service settings from the environment, or widened from given shared settings."""
    if base is None:
        return ServiceSettings()
    if isinstance(base, ServiceSettings):
        return base
    return ServiceSettings().model_copy(update=base.model_dump())
