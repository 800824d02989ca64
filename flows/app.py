"""The composition root: settings, directories and the case store, each built once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from casework.services.directory_log import record_directories
from casework.store.db import Store, open_store
from casework.store.errors import HomeExposed
from flows.home.engine_record import engine_settings
from flows.settings import Settings
from notifications.channels import check_url
from notifications.links import PartnerLinks
from notifications.notifier import AppriseNotifier, Notifier
from notifications.outbox import Policy
from plans.directories import Directories
from plans.loading import load_directories

if TYPE_CHECKING:
    from flows.prefect.port import PrefectSide

_Stamp = tuple[int, int, int, int] | None


def _stamp(path: Path | str) -> _Stamp:
    """What changes when a file is written or replaced (None: unreadable, so read it and fail)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class App:
    """What every command and flow needs, opened lazily so `validate` never touches a database.
    Tests hand in fakes of the ports (the Prefect side, the notifier) and a clock."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        prefect: PrefectSide | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        # A command uses what the engine of its REHAB_HOME uses, unless its environment says.
        self.settings = settings or engine_settings()
        self._directories: tuple[tuple[_Stamp, ...], Directories] | None = None
        self._directories_recorded = False
        self._directories_lock = threading.RLock()  # the clock's and the outbox's threads
        if prefect is not None:
            self.prefect = prefect
        if notifier is not None:
            self.notifier = notifier
        if clock is not None:
            self.now = clock  # type: ignore[method-assign]  # a test's paper clock

    @property
    def directories(self) -> Directories:
        """The partner and staff directories as their files are now, checked (notify URLs
        included): read again whenever a file changed, so a long-lived engine decides by
        today's roles; a file now invalid is refused (no decision on a stale directory)."""
        files = (self.settings.partners_file, self.settings.staff_file)
        with self._directories_lock:
            stamp = tuple(_stamp(f) for f in files)
            if self._directories is None or self._directories[0] != stamp:
                self._directories = (stamp, load_directories(*files, url_check=check_url))
                self._directories_recorded = False
            loaded = self._directories[1]
        if "store" in self.__dict__:
            self._record_directories(loaded)
        return loaded

    def _record_directories(self, loaded: Directories) -> None:
        """A directory that changed since the store last saw it, in its audit log (once)."""
        with self._directories_lock:
            if self._directories_recorded or self._directories is None:
                return
            if self._directories[1] is not loaded:
                return  # read again meanwhile: the newer one is recorded by its reader
            record_directories(self.store, loaded, now=self.now())
            self._directories_recorded = True

    @cached_property
    def store(self) -> Store:
        """The case store, migrated and key-checked on first use."""
        home = self.settings.home_dir
        if not home.exists():
            home.mkdir(parents=True, mode=0o700)
        mode = home.stat().st_mode & 0o777
        if mode & 0o077:
            raise HomeExposed(home, mode)
        os.umask(0o077)  # the case database and key are for this user's eyes only
        store = open_store(
            self.settings.store_url,
            self.settings.key_file,
            busy_timeout=self.settings.db_busy_timeout.total_seconds(),
        )
        self.__dict__["store"] = store  # so the directories read before it are recorded in it
        if self._directories is not None:
            self._record_directories(self._directories[1])
        return store

    @cached_property
    def prefect(self) -> PrefectSide:
        """The Prefect side: the API at PREFECT_API_URL."""
        from flows.prefect.ops import PrefectApi  # noqa: PLC0415  # importing prefect takes a second

        return PrefectApi()

    @cached_property
    def notifier(self) -> Notifier:
        """How messages leave the system: apprise."""
        return AppriseNotifier()

    @property
    def send_policy(self) -> Policy:
        """How hard the outbox tries before a message is dead."""
        s = self.settings
        return Policy(
            max_attempts=s.send_max_attempts,
            retry_base=s.send_retry_base,
            retry_cap=s.send_retry_cap,
        )

    @property
    def partner_links(self) -> PartnerLinks:
        """How partners' messages link to their answer pages at the door (REHAB_PUBLIC_URL)."""
        return PartnerLinks(self.settings.door_url, self.store.links.secret())

    @staticmethod
    def now() -> datetime:
        """The current time, in UTC."""
        return datetime.now(UTC)

    def close(self) -> None:
        """Release the store's connections."""
        if "store" in self.__dict__:
            self.store.dispose()
