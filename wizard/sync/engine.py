"""The run-time sync engine: runs one sync for the enabled kinds and reports progress.

The pure parts (planner, merge, mapping) decide; ``wizard.sync.records`` (contacts, appointments, tasks) and
``wizard.sync.email`` do the I/O per kind and record results in the state DB. The engine itself checks
that this computer holds the synchronizing-computer claim, takes the profile's lock so only one engine
runs, records the run's start in the state DB (a full disk stops the run here, before anything is written
to either side), renews the claim's heartbeat when it is due (``wizard.sync.claim``; the writers renew it
before each batch of writes, and a lost claim stops the run), resolves creates a crash left pending, runs
the kinds (a kind-level failure stops that kind only, an account-level one the run) and keeps the run's
counts. What the run read once (the claim, WhoAmI, the filters, the user's settings) it keeps for the next
run in the run cache (``wizard.sync.run_cache``), so a run with nothing to do asks only for the changes.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.crm import records
from wizard.crm.client import guid
from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import NotSupported
from wizard.settings.enums import ALL_KINDS, RECORD_KINDS, Kind
from wizard.sync import mapping
from wizard.sync.claim import ClaimGuard, ClaimLost
from wizard.sync.records import RecordSync, appointment_series, resolve_conflict
from wizard.sync.run import (
    KindCounts,
    KindResult,
    KindRunStatus,
    KindSync,
    NullReporter,
    Reporter,
    RunContext,
    RunOptions,
    RunStatus,
    RunSummary,
)
from wizard.sync.run_cache import HEARTBEAT_EVERY, RunCache
from wizard.sync.state import RunCounts

if TYPE_CHECKING:
    from wizard.crm.client import DataverseClient
    from wizard.crm.entities import MailboxRecord
    from wizard.mailbox.base import MailboxStore
    from wizard.settings.profile import OrgProfile, Profile
    from wizard.sync.state import StateDB

__all__ = [
    "Engine",
    "EngineBusy",
    "EngineLock",
    "KindCounts",
    "KindResult",
    "KindRunStatus",
    "KindSync",
    "NullReporter",
    "Reporter",
    "RunContext",
    "RunStatus",
    "RunSummary",
]

log = logging.getLogger(__name__)


class EngineBusy(D365SyncError):
    """Another engine runs for this profile (the lock file is held)."""

    severity = Severity.FATAL


class EngineLock:
    """One engine per profile: an OS lock on a file (fcntl / msvcrt), released when the process dies.

    The OS drops the lock with its holder, so a stale lock file left by a crash never blocks anyone; the
    file itself only names the last holder's pid, for the message.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            with suppress(OSError):
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise EngineBusy(
                f"engine lock {self.path} is held{f' by pid {holder}' if holder else ''}",
                user_text="A synchronization is already running for this profile"
                + (f" (process {holder})" if holder else "")
                + ". Wait for it to finish.",
                retriable=True,
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if sys.platform == "win32":
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


class Engine:
    """Runs one sync: checks the claim and the lock, recovers pending creates, then each enabled kind.

    ``email`` is the email KindSync (wizard/sync/email/) when there is one; ``kinds`` overrides the
    record kinds' synchronizers (tests). ``lock_path`` is the profile's lock file (``Locations.lock_file``).
    """

    def __init__(
        self,
        *,
        crm: DataverseClient,
        mailbox: MailboxStore,
        state: StateDB,
        profile: Profile,
        org: OrgProfile,
        reporter: Reporter | None = None,
        clock: Callable[[], datetime] | None = None,
        email: KindSync | None = None,
        lock_path: Path | None = None,
        kinds: dict[str, KindSync] | None = None,
        cache: RunCache | None = None,
    ) -> None:
        self.crm = crm
        self.mailbox = mailbox
        self.state = state
        self.profile = profile
        self.org = org
        self.reporter: Reporter = reporter or NullReporter()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.email = email
        self.lock_path = lock_path
        if kinds is None:
            kinds = {k: RecordSync(k) for k in RECORD_KINDS}
        self.syncs: dict[str, KindSync] = dict(kinds)
        if email is not None:
            self.syncs["email"] = email
        #: the per-run reads kept between runs (``wizard.sync.run_cache``); without a file every run reads all
        self.cache = cache or RunCache(None)
        self._fresh = False  # this run reads everything again (Sync now, the wizard closing)
        self._claim_row: MailboxRecord | None = None  # the mailbox record as the claim check saw it

    def close(self) -> None:
        """Close what the engine was given: the state DB and the mailbox connection."""
        try:
            self.mailbox.close()
        finally:
            self.state.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- which kinds ---------------------------------------------------------------------------------
    def enabled_kinds(self, wanted: Sequence[str] | None = None) -> list[str]:
        """The kinds to run, in a fixed order: those asked for (or all) that are enabled and available."""
        enabled = self.profile.sync.kinds
        names = [k for k in ALL_KINDS if k in self.syncs]
        if wanted:
            unknown = set(wanted) - set(ALL_KINDS)
            if unknown:
                raise ValueError(f"unknown kind(s): {', '.join(sorted(unknown))}")
            names = [k for k in names if k in wanted]
        return [k for k in names if enabled.get(k, True)]

    def is_sync_computer(self) -> bool:
        """True when this profile's instance holds the synchronizing-computer claim (one request)."""
        claim = records.read_claim(self.crm)
        return claim is not None and claim.instance_id == self.profile.instance_id

    # -- the run -------------------------------------------------------------------------------------
    def run_once(
        self,
        kinds: Sequence[str] | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        fresh: bool = False,
    ) -> RunSummary:
        """One sync of ``kinds`` (default: every enabled kind). Never raises for a kind's failure.

        ``fresh``: read the claim, the filters and the user's settings again even when the run cache has
        them (Sync now, the wizard closing)."""
        self._fresh = fresh
        started = self.clock()
        names = self.enabled_kinds(kinds)
        try:
            ours = self._claim_is_ours(dry_run=dry_run)
        except D365SyncError as error:  # the organization did not answer the claim check: nothing ran
            log.warning("synchronizing-computer check failed: %s", error)
            failed = [
                KindResult(n, KindCounts(), KindCounts(), KindRunStatus.ERROR, error.user_text) for n in names
            ]
            summary = RunSummary(None, started, self.clock(), RunStatus.FAILED, failed, [])
            self.reporter.run_finished(summary)
            return summary
        if not ours:
            summary = RunSummary(None, started, self.clock(), RunStatus.NOT_SYNC_COMPUTER, [], [])
            self.reporter.run_finished(summary)
            return summary
        if self.lock_path is None:
            return self._run(names, started, dry_run=dry_run, force=force)
        with EngineLock(self.lock_path).held():
            return self._run(names, started, dry_run=dry_run, force=force)

    def _claim_is_ours(self, *, dry_run: bool) -> bool:
        """The claim check before a run (nothing written: the heartbeat follows the run's first state write).

        A claim the run cache confirmed less than ``CLAIM_RECHECK`` ago is taken as it is (no request): the
        run's heartbeat, before its first write, is a PATCH with ``If-Match`` on the kept ETag, so a
        takeover since is still noticed before anything is written."""
        self._use_kept_identity()
        now = self.clock()
        kept = None if self._fresh else self.cache.claim_confirmed(now)
        if kept is not None and self._names_us(kept):
            self._claim_row = kept
            return True
        record = records.own_mailbox(self.crm)
        ours = self._names_us(record)
        self._claim_row = record if ours else None
        self.cache.remember_claim(now, self._claim_row)
        self._keep_identity()
        self.cache.save()
        return ours

    def _names_us(self, record: MailboxRecord) -> bool:
        claim = records.parse_claim(record.exchangesyncstatexml)
        return claim is not None and claim.instance_id == self.profile.instance_id

    def _heartbeat_due(self, now: datetime) -> bool:
        """Renew the heartbeat at the start of the run (else at its first write): always without a run
        cache (as before it), when the claim's row is unknown, or when the heartbeat is older than
        ``HEARTBEAT_EVERY``."""
        row = self._claim_row
        if not self.cache.enabled or row is None:
            return True
        claim = records.parse_claim(row.exchangesyncstatexml)
        return claim is None or now - claim.heartbeat >= HEARTBEAT_EVERY

    # -- the run cache -------------------------------------------------------------------------------
    def _account(self) -> str:
        """Whom a kept WhoAmI belongs to: the organization, its address, the sign-in kind and the account."""
        org = self.org
        return "|".join((org.id, org.api_url, org.auth_kind, org.username.casefold()))

    def _use_kept_identity(self) -> None:
        if self.crm.known_whoami is not None:
            return
        who = self.cache.whoami(self._account())
        if who is not None and (not self.org.user_id or who.user_id == self.org.user_id.lower()):
            self.crm.assume_whoami(who)

    def _keep_identity(self) -> None:
        who = self.crm.known_whoami
        if who is not None:
            self.cache.remember_whoami(self._account(), who)

    def _keep(self, ctx: RunContext, kept: RunContext, guard: ClaimGuard | None) -> None:
        """Keep what this run read or wrote for the next one (``kept``: what the run started with)."""
        cache = self.cache
        if not cache.enabled:
            return
        if guard is not None and guard.lost is not None:
            cache.remember_claim(self.clock(), None)
        elif guard is not None and guard.renewed_at is not None:
            cache.remember_claim(guard.renewed_at, guard.row)  # None (no representation): read next time
        if ctx.outlook_filters and ctx.outlook_filters is not kept.outlook_filters:
            cache.remember_filters(ctx.now, ctx.outlook_filters)
        if ctx.sync_contact_company is not None and kept.sync_contact_company is None:
            cache.remember_contact_company(ctx.now, ctx.sync_contact_company)
        if ctx.email_server is not None and kept.email_server is None:
            cache.remember_email_server(ctx.now, ctx.email_server)
        self._keep_identity()
        cache.save()

    def _run(self, names: list[str], started: datetime, *, dry_run: bool, force: bool) -> RunSummary:
        state = self.state
        # The run's first state write comes before any write to either side: on a full disk (DiskFull) the
        # run stops here and nothing changed anywhere, not even the claim's heartbeat.
        run_id = None if dry_run else state.start_run()
        ctx = self._context(run_id, started)
        kept = replace(ctx)  # what the run starts with, to keep what it reads
        guard: ClaimGuard | None = None
        if run_id is not None:
            guard = ClaimGuard(self.crm, self.profile.instance_id, self.clock, row=self._claim_row)
            ctx.claim_check = guard.check
            try:
                if self._heartbeat_due(started) or state.pending_creates():
                    guard.check()  # the heartbeat: this computer synchronizes (and says so) from now on
            except D365SyncError as error:
                self._keep(ctx, kept, guard)
                return self._stopped(run_id, names, started, error)
            self._recover_creates(ctx)
        self.reporter.run_started(names)
        results: list[KindResult] = []
        fatal: D365SyncError | None = None
        for name in names:
            if fatal is not None:
                results.append(
                    KindResult(name, KindCounts(), KindCounts(), KindRunStatus.SKIPPED, fatal.user_text)
                )
                continue
            self.reporter.kind_started(name)
            raised = True
            try:
                result = self.syncs[name].run(ctx, dry_run=dry_run, force=force)
                raised = False
            except D365SyncError as error:
                result = KindResult(name, KindCounts(), KindCounts(), KindRunStatus.ERROR, error.user_text)
                if error.severity >= Severity.ACCOUNT and not _kind_level(error):
                    fatal = error
                self._record_error(run_id, name, max(error.severity, Severity.KIND), error.user_text)
            except Exception as error:  # a bug in one kind must not take the others down
                log.exception("%s: unexpected failure", name)
                result = KindResult(
                    name,
                    KindCounts(),
                    KindCounts(),
                    KindRunStatus.ERROR,
                    f"An unexpected error stopped {name}: {error}",
                )
                self._record_error(run_id, name, Severity.KIND, result.message)
            if result.status == KindRunStatus.ERROR and not raised:  # a kind that reported its failure itself
                self._record_error(run_id, name, Severity.KIND, result.message or f"{name} failed")
            if result.status == KindRunStatus.NEEDS_CONFIRMATION:
                self._record_error(
                    run_id, name, Severity.KIND, result.message, item=KindRunStatus.NEEDS_CONFIRMATION
                )
            if run_id is not None:
                for direction, counts in (("to_crm", result.to_crm), ("to_mailbox", result.to_mailbox)):
                    state.add_counts(run_id, name, direction, RunCounts(**vars(counts)))  # type: ignore[arg-type]
            results.append(result)
            self.reporter.kind_finished(result)
        status = _overall(results, dry_run=dry_run, fatal=fatal is not None)
        if isinstance(fatal, ClaimLost):  # another computer took over: this one stopped at its next batch
            status = RunStatus.NOT_SYNC_COMPUTER
        if run_id is not None:
            state.finish_run(run_id, status)
        self._keep(ctx, kept, guard)
        summary = RunSummary(run_id, started, self.clock(), status, results, list(ctx.planned))
        self.reporter.run_finished(summary)
        return summary

    def _stopped(self, run_id: int, names: list[str], started: datetime, error: D365SyncError) -> RunSummary:
        """The run ends before any kind ran: the heartbeat found the claim lost, or the organization did not
        answer it."""
        lost = isinstance(error, ClaimLost)
        log.warning("synchronizing-computer heartbeat: %s", error)
        kind_status = KindRunStatus.SKIPPED if lost else KindRunStatus.ERROR
        results = [KindResult(n, KindCounts(), KindCounts(), kind_status, error.user_text) for n in names]
        status = RunStatus.NOT_SYNC_COMPUTER if lost else RunStatus.FAILED
        for name in names[:1]:  # once, under the first kind, as a run-level failure in a kind's loop is
            self._record_error(run_id, name, Severity.ACCOUNT, error.user_text)
        self.state.finish_run(run_id, status)
        summary = RunSummary(run_id, started, self.clock(), status, results, [])
        self.reporter.run_finished(summary)
        return summary

    def resolve_conflict(self, conflict_id: int, use: str) -> str:
        """Apply the chosen value of a logged conflict to the other side and mark it resolved.

        Works for conflicts the policy decided too: choosing the losing side applies the losing value.

        Raises KeyError for an unknown id and ValueError for ``use`` other than "crm"/"mailbox"; returns
        a sentence saying what was done. Takes the profile lock like a run does.
        """
        if use not in ("crm", "mailbox"):
            raise ValueError("use must be 'crm' or 'mailbox'")
        record = next((c for c in self.state.conflicts() if c.id == conflict_id), None)
        if record is None:
            raise KeyError(conflict_id)
        if record.resolved and record.winner == use:
            return f"the {'Dynamics 365' if use == 'crm' else 'mailbox'} value is applied already"
        ctx = self._context(None, self.clock())
        lock = EngineLock(self.lock_path) if self.lock_path is not None else None
        if lock is not None:
            lock.acquire()
        try:
            done = resolve_conflict(ctx, record, use)
            self.state.resolve_conflict(conflict_id, "crm" if use == "crm" else "mailbox")
        finally:
            if lock is not None:
                lock.release()
        return done

    def _context(self, run_id: int | None, now: datetime) -> RunContext:
        """The context the kinds share, with the options taken from the profile once for the run and the
        reads the run cache keeps while they are fresh (the filters, the user's contact-company setting)."""
        fresh = self._fresh or not self.cache.enabled
        ctx = RunContext(
            crm=self.crm,
            mailbox=self.mailbox,
            state=self.state,
            options=RunOptions.from_profile(self.profile),
            org=self.org,
            user_id=self.org.user_id or self.crm.whoami().user_id,
            reporter=self.reporter,
            run_id=run_id,
            now=now,
        )
        if not fresh:
            ctx.outlook_filters = self.cache.filters(now)
            ctx.sync_contact_company = self.cache.contact_company(now)
            ctx.email_server = self.cache.email_server(now)
        return ctx

    def _record_error(
        self, run_id: int | None, kind: str, severity: Severity, message: str, item: str | None = None
    ) -> None:
        if run_id is not None:
            self.state.record_error(run_id, kind, severity, message, item)  # type: ignore[arg-type]

    def _finish_conversions(self) -> None:
        """Appointments a crash left between leaving one table and arriving in the other (a single appointment
        that became a series, or the reverse): made again before anything reads Dynamics 365, where the
        missing row would look deleted. One that cannot be made now stays pending, and the appointments are
        not synchronized this run."""
        for entry in self.state.pending_creates(Kind.APPOINTMENTS):
            if not entry.is_conversion or not entry.target_id:
                continue
            try:
                done = appointment_series.finish_conversion(self.crm, entry.target_id, entry.payload)
            except D365SyncError as error:
                log.warning(
                    "appointments: the interrupted change of %s is still pending: %s", entry.target_id, error
                )
                continue
            log.info("appointments: interrupted change of %s finished (%s)", entry.target_id, done)
            self.state.journal_done(entry.id, entry.target_id)

    def _recover_creates(self, ctx: RunContext) -> None:
        """Resolve creates a crash left pending, so none is made twice (the journal's contract)."""

        def find(entry: Any) -> str | None:
            if entry.side == "mailbox":
                if not self.mailbox.capabilities.named_properties:
                    return None
                found = RecordSync(entry.kind).find_by_crmids(ctx, [entry.source_id])
                items = found.get(entry.source_id) or []
                return items[0].id if items else None
            if not entry.target_id:
                return None
            sets = [mapping.crm_entity_set(entry.kind)]
            if entry.kind == Kind.APPOINTMENTS:
                sets.append("recurringappointmentmasters")
            key = "contactid" if entry.kind == Kind.CONTACTS else "activityid"
            for entity_set in sets:
                rows = list(
                    self.crm.query(entity_set, select=[key], filter=f"{key} eq {guid(entry.target_id)}")
                )
                if rows:
                    return str(entry.target_id)
            return None

        self._finish_conversions()
        for recovered in self.state.recover_creates(find, kinds=RECORD_KINDS):
            log.info(
                "recovered a pending %s create on the %s side: %s",
                recovered.entry.kind,
                recovered.entry.side,
                "linked" if recovered.linked else "not made",
            )


def _kind_level(error: D365SyncError) -> bool:
    """A mailbox that cannot do something (NotSupported) stops that kind only, whatever its severity."""
    return isinstance(error, NotSupported)


def _overall(results: Sequence[KindResult], *, dry_run: bool, fatal: bool) -> RunStatus:
    if dry_run:
        return RunStatus.DRY_RUN
    if fatal:
        return RunStatus.FAILED
    statuses = [r.status for r in results]
    if any(s in (KindRunStatus.ERROR, KindRunStatus.NEEDS_CONFIRMATION) for s in statuses):
        return RunStatus.FAILED if all(s == KindRunStatus.ERROR for s in statuses) else RunStatus.PARTIAL
    return RunStatus.OK
