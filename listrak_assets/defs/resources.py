"""Resources: the destination settings, the Parquet storage of every table, Listrak's Email,
SMS and Privacy APIs, Listrak's SFTP account and the erasure salt, and `resources()`, which
names them for one destination."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import dagster as dg
import polars as pl

from listrak_assets.defs.keys import ResourceKeys
from listrak_assets.defs.settings import ListrakSettings
from listrak_assets.defs.unchanged import FORCE_TAG, KEEP_STORED, PATH, STORED, record
from listrak_assets.erasure.ledger import Ledger
from listrak_assets.fingerprints import file_stat
from listrak_assets.listrak.auth import (
    API_URL_ENV,
    AUTH_URL_ENV,
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    Credentials,
    Integration,
)
from listrak_assets.listrak.client import ClientOptions, connect
from listrak_assets.listrak.email import EmailApi
from listrak_assets.listrak.forget import ForgetApi, RateLimiter
from listrak_assets.listrak.http import RetryPolicy, Stats, Timeouts
from listrak_assets.listrak.sms import SmsApi
from listrak_assets.sftp import SftpConfig, SftpConfigError
from listrak_assets.stand_ins import TRUST_HOST_KEY, TRY_WITHOUT_ACCOUNT
from listrak_assets.storage import Location, location, scan_parquet, text, uri, write_parquet
from listrak_assets.stored_tables import table_file
from listrak_assets.suppression import SALT_ENV, Suppression, check_salt

if TYPE_CHECKING:
    from listrak_assets.sftp.uploader import SftpUploader


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores each table as `<warehouse>/<asset key path>.parquet`, the warehouse folder taken
    from the settings the run parsed; a table kept by day as one file per day,
    `<warehouse>/<asset key path>/<YYYY-MM-DD>.parquet` (`defs/days.py`).

    Our own because dagster-polars can't load Parquet under polars 2.x, and because it must
    add no data samples (PII) to metadata. Each file records what it was built from
    (`defs/unchanged.py`), so an instance sharing the warehouse keeps what another built.
    """

    settings: dg.ResourceDependency[ListrakSettings]
    base_dir: str | None = None  # overrides the settings' warehouse folder (tests)

    def _path(self, key: dg.AssetKey, day: str | None = None) -> Location:
        base = location(self.base_dir) if self.base_dir else self.settings.load().warehouse
        return table_file(base, key.path, day)

    def stored_table(self, key: dg.AssetKey, day: str | None = None) -> Location:
        """Where the table of `key` (of `day`, for a table kept by day) is stored."""
        return self._path(key, day)

    def _output_path(self, context: dg.OutputContext) -> Location:
        if context.has_asset_partitions:
            days = context.asset_partition_keys
            if len(days) != 1:
                raise dg.Failure(
                    f"{context.asset_key.to_user_string()}: one day per run; launch a backfill "
                    "of the range (one run per day) instead of a single run"
                )
            return self._path(context.asset_key, days[0])
        _check_day(context)
        return self._path(context.asset_key)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = self._output_path(context)
        if obj is KEEP_STORED:
            # An unchanged step: the table stored by its last run stays as it is.
            if not path.is_file():
                raise dg.Failure(f"{path} is gone: re-run with the tag {FORCE_TAG}=true")
        else:
            # Readers (and a second run writing the same table) never see a half-written table.
            write_parquet(obj, path, record(context.output_metadata, context.run_id) or None)
        context.add_output_metadata(
            {
                PATH: dg.MetadataValue.path(text(path)),
                "dagster/uri": uri(path),
                # What a later step compares, to know the table is still the one written.
                STORED: file_stat(path),
            }
        )

    def _input_paths(self, context: dg.InputContext) -> list[Location]:
        """The files behind an input: one table, one day, or every stored day of a table kept
        by day (what a step that is not kept by day, or a check, reads)."""
        if context.has_asset_partitions:
            days = context.asset_partition_keys
            if len(days) == 1:
                return [self._path(context.asset_key, days[0])]
            stored = [p for d in days if (p := self._path(context.asset_key, d)).is_file()]
            if not stored:
                raise dg.Failure(f"{context.asset_key.to_user_string()} has no day stored yet")
            return stored
        _check_day(context)
        return [self._path(context.asset_key)]

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | pl.LazyFrame:
        """A `pl.LazyFrame` input is scanned, not read: a step that finds its inputs
        unchanged returns without reading a byte of them. Several days are stacked; their
        attribute columns may differ, so a column one day lacks is empty there."""
        paths = self._input_paths(context)
        frame = (
            scan_parquet(paths[0])
            if len(paths) == 1
            else pl.concat([scan_parquet(p) for p in paths], how="diagonal_relaxed")
        )
        if context.dagster_type.typing_type is pl.LazyFrame:
            return frame
        return frame.collect()


def _check_day(context: dg.InputContext | dg.OutputContext) -> None:
    """Fails a run that names no day for a table kept by day: Dagster can't run a table kept
    by day from another without one, so no step stores a day the run did not name."""
    try:
        days = context.asset_partitions_def
    except dg.DagsterInvariantViolationError:
        return
    if days is not None:
        raise dg.Failure(
            f"{context.asset_key.to_user_string()} is kept by day (orders_by_day): run it for "
            "a day, e.g. `dagster asset materialize --partition YYYY-MM-DD`",
            allow_retries=False,
        )


def _api_env(integration: Integration) -> dict[str, str]:
    """The environment variable behind each field of a Listrak REST API resource."""
    return {
        "client_id": integration.client_id_env,
        "client_secret": integration.client_secret_env,
        "api_url": API_URL_ENV,
        "auth_url": AUTH_URL_ENV,
    }


EMAIL_ENV = _api_env(Integration.EMAIL)
SMS_ENV = _api_env(Integration.SMS)


class _ListrakApi(dg.ConfigurableResource):
    """One Listrak REST integration: its own client id and secret, so its own token.

    `from_env()` wires an `EnvVar` for each of its variables that is set. A field still
    empty when a run starts is read from its variable then (so variables set after the code
    loaded count too); the URLs fall back to Listrak's own, and a missing credential fails
    this integration's sink only, with a message naming the variable.
    """

    INTEGRATION: ClassVar[Integration]

    client_id: str | None = None
    client_secret: str | None = None
    api_url: str | None = None
    auth_url: str | None = None
    retry_attempts: int = 6
    backoff_seconds: float = 0.5  # first retry's wait; doubles, with jitter
    max_backoff_seconds: float = 30.0
    timeout_seconds: float = 60.0  # per read; connecting gets 10 s, uploads 120 s

    @classmethod
    def from_env(cls) -> Self:
        """An `EnvVar` for each variable that is set: Dagster fails every run at launch,
        tables included, when an `EnvVar` names an unset variable."""
        env = _api_env(cls.INTEGRATION)
        values: dict[str, Any] = {
            f: dg.EnvVar(var) for f, var in env.items() if os.environ.get(var)
        }
        return cls(**values)

    def _value(self, field: str) -> str | None:
        return getattr(self, field) or dg.EnvVar(_api_env(self.INTEGRATION)[field]).get_value()

    def options(self, **extra: int) -> ClientOptions:
        return ClientOptions(
            api_url=self._value("api_url") or DEFAULT_API_URL,
            auth_url=self._value("auth_url") or DEFAULT_AUTH_URL,
            retry=RetryPolicy(
                attempts=self.retry_attempts,
                base_delay=self.backoff_seconds,
                max_delay=self.max_backoff_seconds,
            ),
            timeouts=Timeouts(read=self.timeout_seconds),
            **extra,
        )

    def credentials(self) -> Credentials:
        return Credentials.of(
            self.INTEGRATION, self._value("client_id"), self._value("client_secret")
        )


class ListrakEmailApi(_ListrakApi):
    """Listrak's Email REST API, as the Email integration."""

    INTEGRATION: ClassVar[Integration] = Integration.EMAIL

    @contextmanager
    def open(self, stats: Stats | None = None) -> Iterator[EmailApi]:
        """An authenticated, pooled connection for one run; closed on exit."""
        with connect(self.credentials(), self.options(), stats=stats) as http:
            yield EmailApi(http)


class ListrakSmsApi(_ListrakApi):
    """Listrak's SMS REST API, as the SMS integration (an Email token is refused there)."""

    INTEGRATION: ClassVar[Integration] = Integration.SMS

    @contextmanager
    def open(self, stats: Stats | None = None, concurrency: int = 8) -> Iterator[SmsApi]:
        """An authenticated connection pool with room for `concurrency` calls at once."""
        options = self.options(max_connections=concurrency)
        with connect(self.credentials(), options, stats=stats) as http:
            yield SmsApi(http)


class ListrakPrivacyApi(_ListrakApi):
    """Listrak's Privacy REST API (Forget requests), as the Privacy integration.

    Assumed: an account without LISTRAK_PRIVACY_CLIENT_ID/_SECRET uses the Email
    integration's credentials (LISTRAK_EMAIL_CLIENT_ID/_SECRET); the pair in use must belong
    to an integration of type Privacy for Listrak to accept it.
    """

    INTEGRATION: ClassVar[Integration] = Integration.PRIVACY

    @classmethod
    def from_env(cls) -> Self:
        """EnvVars for the Privacy variables that are set, else for the Email ones."""
        own = _api_env(Integration.PRIVACY)
        fallback = _api_env(Integration.EMAIL)
        values: dict[str, Any] = {}
        for name, var in own.items():
            chosen = var if os.environ.get(var) else fallback[name]
            if os.environ.get(chosen):
                values[name] = dg.EnvVar(chosen)
        return cls(**values)

    def _value(self, field: str) -> str | None:
        return (
            getattr(self, field)
            or dg.EnvVar(_api_env(Integration.PRIVACY)[field]).get_value()
            or dg.EnvVar(_api_env(Integration.EMAIL)[field]).get_value()
        )

    @contextmanager
    def open(
        self, stats: Stats | None = None, limiter: RateLimiter | None = None
    ) -> Iterator[ForgetApi]:
        """A connection for one run, held to the Privacy API's published rate limits."""
        with connect(self.credentials(), self.options(), stats=stats) as http:
            yield ForgetApi(http, limiter or RateLimiter())


class ListrakErasure(dg.ConfigurableResource):
    """The secret salt of the erasure ledger's hashes (LISTRAK_ERASURE_SALT).

    Unset, nothing that needs it runs: a forget run fails naming the variable, and so does a
    clean step once the ledger holds anyone (sending a forgotten person again is worse than
    not sending).
    """

    salt: str | None = None

    @classmethod
    def from_env(cls) -> "ListrakErasure":
        return cls(salt=dg.EnvVar(SALT_ENV)) if os.environ.get(SALT_ENV) else cls()

    def checked_salt(self) -> str:
        """The salt; SaltError naming the variable when it is missing or too short."""
        return check_salt(self.salt or dg.EnvVar(SALT_ENV).get_value())

    def suppression(self, ledger_path: Location) -> Suppression | None:
        """Everyone forgotten so far, or None when nobody is (no salt needed then)."""
        ledger = Ledger.read(ledger_path)
        if not ledger.people:
            return None
        salt = self.checked_salt()
        ledger.check_salt(salt)
        return ledger.suppression(salt)


# The environment variable behind each field of ListrakSftp.
SFTP_ENV: dict[str, str] = {
    "host": "LISTRAK_SFTP_HOST",
    "port": "LISTRAK_SFTP_PORT",
    "username": "LISTRAK_SFTP_USERNAME",
    "password": "LISTRAK_SFTP_PASSWORD",
    "private_key": "LISTRAK_SFTP_PRIVATE_KEY",
    "private_key_passphrase": "LISTRAK_SFTP_PRIVATE_KEY_PASSPHRASE",
    "known_hosts": "LISTRAK_SFTP_KNOWN_HOSTS",
}


class ListrakSftp(dg.ConfigurableResource):
    """Listrak's SFTP account: host, port, user, password or private key, trusted host keys.

    `from_env()` reads each field from its LISTRAK_SFTP_* variable. What is missing fails the
    file sinks only, with a message naming the variable.
    """

    host: str | None = None
    port: int = 22
    username: str | None = None
    password: str | None = None
    private_key: str | None = None  # the key's text, or the path of a key file
    private_key_passphrase: str | None = None
    known_hosts: str | None = None  # path of a known_hosts file
    max_attempts: int = 5  # per file, counting reconnections after a drop
    backoff_seconds: float = 1.0  # first wait before reconnecting; doubles, at most 30 s
    timeout_seconds: float = 60.0  # a connection silent this long counts as dropped

    @classmethod
    def from_env(cls) -> "ListrakSftp":
        """An `EnvVar` for each LISTRAK_SFTP_* variable that is set.

        Only for those: Dagster fails every run at launch, tables included, when an `EnvVar`
        names an unset variable.
        """
        fields: dict[str, Any] = {
            name: dg.EnvVar.int(var) if name == "port" else dg.EnvVar(var)
            for name, var in SFTP_ENV.items()
            if os.environ.get(var)
        }
        return cls(**fields)

    def config(self, host_key_fingerprint: str | None = None) -> SftpConfig:
        """The uploader's settings; SftpConfigError naming what is missing."""
        missing = [SFTP_ENV[name] for name in ("host", "username") if not getattr(self, name)]
        if not self.password and not self.private_key:
            missing.append(f"{SFTP_ENV['password']} or {SFTP_ENV['private_key']}")
        if missing:
            raise SftpConfigError(
                f"SFTP is not configured: set {' and '.join(missing)}. {TRUST_HOST_KEY} "
                + TRY_WITHOUT_ACCOUNT
            )
        assert self.host and self.username
        return SftpConfig(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            private_key=self.private_key,
            private_key_passphrase=self.private_key_passphrase,
            known_hosts=Path(self.known_hosts).expanduser() if self.known_hosts else None,
            host_key_fingerprint=host_key_fingerprint,
            max_attempts=self.max_attempts,
            backoff=self.backoff_seconds,
            io_timeout=self.timeout_seconds,
        )

    def uploader(
        self, host_key_fingerprint: str | None, log: Callable[[str], None] | None = None
    ) -> "SftpUploader":
        """An uploader that connects on first use; use it as a context manager."""
        # Imported here: paramiko loads only in a run that uploads.
        from listrak_assets.sftp.uploader import SftpUploader  # noqa: PLC0415

        return SftpUploader(self.config(host_key_fingerprint), log=log)


def resources(keys: ResourceKeys, settings: ListrakSettings) -> dict[str, Any]:
    """Every resource of one destination under the names `keys` gives them: the inbox mode
    (the default names) and a destination fed by upstream assets build theirs here alike."""
    return {
        keys.settings: settings,
        keys.io_manager: ParquetIOManager(settings=settings),
        # EnvVar for each LISTRAK_EMAIL_CLIENT_ID/_SECRET, LISTRAK_API_URL/_AUTH_URL that is
        # set; a missing credential fails only the email sink, naming the variable.
        keys.listrak_email: ListrakEmailApi.from_env(),
        # Likewise with LISTRAK_SMS_CLIENT_ID/_SECRET: the SMS integration's own token.
        keys.listrak_sms: ListrakSmsApi.from_env(),
        # LISTRAK_PRIVACY_CLIENT_ID/_SECRET, else the email integration's pair.
        keys.listrak_privacy: ListrakPrivacyApi.from_env(),
        # LISTRAK_ERASURE_SALT; unset, erasure refuses to run.
        keys.erasure: ListrakErasure.from_env(),
        # EnvVar for each LISTRAK_SFTP_* variable that is set; a missing one fails only the
        # file sinks, naming the variable.
        keys.sftp: ListrakSftp.from_env(),
    }
