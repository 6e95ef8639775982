"""Accounts, password hashes, session tokens and login throttling.

Passwords are hashed with argon2id in worker processes (server.hashing).  A token is a signed,
timestamped reference to a row in the sessions table, so it expires on its own
and logging out revokes it.
"""
from __future__ import annotations

import random
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Callable

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from game.core import protocol as P

from .hashing import HashPool, password_hasher
from .runtime import Runtime
from .storage import (ROLE_OWNER, ROLE_PLAYER, NameTaken, Sanction, Storage, StorageFull,
                      UserRow)

TOKEN_MAX_CHARS = 512
# One message for "no such user" and "wrong password", so answers reveal nothing.
BAD_CREDENTIALS_MESSAGE = "wrong username or password"
STORAGE_FULL_MESSAGE = "the host's disk is full; try again later"
# How long a login over the limit waits for earlier attempts on the same
# account or address that are still being checked, and how often it looks.
LOGIN_QUEUE_MAX_S = 30.0
# A login waiting for the outcome of earlier ones is woken when one is
# decided; it looks again after this long in any case.
LOGIN_QUEUE_RECHECK_S = 0.25
_LOOK_RNG = random.SystemRandom()


class AuthError(Exception):
    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.extra: dict = {}  # more fields for the HTTP answer


class Banned(AuthError):
    """A banned account: the reason and until when (seconds; None: for good)."""

    def __init__(self, ban: Sanction, status: int):
        until = "for good" if ban.until is None else "until " + time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime(ban.until))
        super().__init__(P.E_BANNED, f"banned {until}" + (f": {ban.reason}" if ban.reason
                                                          else ""), status)
        self.reason = ban.reason
        self.until = ban.until
        self.extra = {"ok": False, "reason": ban.reason,
                      "until": None if ban.until is None else round(ban.until * 1000.0)}


@dataclass(frozen=True)
class Identity:
    """Who a token belongs to."""

    user_id: int
    name: str
    session_id: str


class LoginThrottle:
    """Counts failed logins per key (account, address) in a sliding minute.

    An attempt is counted the moment it arrives (``begin``), before its
    password hash is checked, and handed back (``refund``) only when it
    succeeds: attempts sent side by side cannot all start while the earlier
    ones are still being hashed.
    """

    def __init__(self, max_failures: int, window_s: float = 60.0):
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._checking: dict[str, int] = {}  # attempts counted but not yet decided, per key

    def checking(self, keys: list[str]) -> bool:
        """Whether an attempt on one of ``keys`` is still being checked."""
        return any(self._checking.get(key) for key in keys)

    def started(self, keys: list[str]) -> None:
        for key in keys:
            self._checking[key] = self._checking.get(key, 0) + 1

    def decided(self, keys: list[str]) -> None:
        for key in keys:
            left = self._checking.get(key, 0) - 1
            if left > 0:
                self._checking[key] = left
            else:
                self._checking.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked_for(self, keys: list[str], now: float | None = None) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                wait = max(wait, times[0] + self.window_s - now)
        return wait

    def begin(self, keys: list[str], now: float | None = None) -> tuple[float, float]:
        """Count an attempt against every key unless one is already at the
        limit: (seconds to wait, 0 when counted; the attempt's stamp)."""
        now = time.monotonic() if now is None else now
        wait = self.blocked_for(keys, now)
        if wait <= 0:
            self.record_failure(keys, now)
        return wait, now

    def refund(self, keys: list[str], stamp: float) -> None:
        """Take back an attempt counted by ``begin`` (it succeeded)."""
        for key in keys:
            times = self._failures.get(key)
            if times is not None and stamp in times:
                times.remove(stamp)

    def record_failure(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in keys:
            self._recent(key, now).append(now)
        if len(self._failures) > 100_000:  # forget idle keys so memory stays bounded
            for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                del self._failures[key]


class Accounts:
    def __init__(self, storage: Storage, runtime: Runtime, secret: bytes, token_ttl_s: int,
                 max_failures_per_minute: int,
                 registrations_per_minute: int = P.REGISTRATIONS_MAX,
                 hash_pool: HashPool | None = None):
        self.storage = storage
        self.runtime = runtime
        self.token_ttl_s = token_ttl_s
        self._hasher = password_hasher()
        # Hashes run in worker processes, so a burst of logins queues there
        # and the tick keeps its rhythm; started and stopped with the host.
        self.hash_pool = hash_pool or HashPool(runtime)
        self._serializer = URLSafeTimedSerializer(secret, salt="pixel-commons-session")
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))
        self.throttle = LoginThrottle(max_failures_per_minute, P.LOGIN_WINDOW_S)
        # Logins queued behind earlier attempts on their account or address
        # sleep here and are woken one per decided attempt, instead of all
        # polling (200 logins from one address woke ~4,000 times a second).
        # The count is a hint: a wake-up too many or too few costs at most
        # LOGIN_QUEUE_RECHECK_S.
        self._outcome = runtime.semaphore(0)
        self._outcome_waiters = 0
        # Registrations per address; every one that reaches the hasher counts.
        self.registrations = LoginThrottle(registrations_per_minute, P.LOGIN_WINDOW_S)
        # id <-> name for every account; small for a self-hosted world, and it
        # lets handlers resolve names without touching the disk.
        self.names: dict[int, str] = {}
        self.ids: dict[str, int] = {}
        # Keeping order (kept by server.moderation): every account that is not
        # a plain player -> its role; bans in force; the owner named with
        # --owner (None: the first account on a new world is the owner).
        self.roles: dict[int, str] = {}
        self.bans: dict[int, Sanction] = {}
        self.owner_name: str | None = None
        # With --redis several processes share the accounts: one made on
        # another process is heard of (``remember``) or, until then, read
        # from the database (``shared``); ``on_created(uid, name, role)``
        # tells the others of one made here.
        self.shared = False
        self.on_created: Callable[[int, str, str | None], None] | None = None
        for uid, name in storage.all_users():
            self._remember(uid, name)

    def _remember(self, uid: int, name: str) -> None:
        self.names[uid] = name
        self.ids[name.lower()] = uid

    def remember(self, uid: int, name: str) -> None:
        """An account made on another process of the world."""
        self._remember(uid, name)

    def user_id(self, name: str) -> int | None:
        found = self.ids.get(name.lower())
        if found is None and self.shared and P.is_valid_username(name):
            user = self.storage.find_user(name)
            if user is not None:
                self._remember(user.id, user.name)
                found = user.id
        return found

    def name_of(self, uid: int) -> str | None:
        """The account's name (None: no such account)."""
        name = self.names.get(uid)
        if name is None and self.shared:
            row = self.storage.call(lambda db: db.execute(
                "SELECT name FROM users WHERE id = ?", [uid]).fetchone())
            if row is not None:
                self._remember(uid, row[0])
                name = row[0]
        return name

    def forget(self, uid: int) -> None:
        """An account that was deleted."""
        name = self.names.pop(uid, None)
        if name is not None and self.ids.get(name.lower()) == uid:
            del self.ids[name.lower()]
        self.roles.pop(uid, None)
        self.bans.pop(uid, None)

    def hash_password(self, password: str) -> str:
        return self.hash_pool.hash(password)

    def ban_of(self, uid: int, now: float | None = None) -> Sanction | None:
        """The ban in force on an account (None: not banned)."""
        found = self.bans.get(uid)
        if found is None or (found.until is not None
                             and found.until <= (time.time() if now is None else now)):
            return None
        return found

    def refuse_if_banned(self, uid: int, status: int) -> None:
        found = self.ban_of(uid)
        if found is not None:
            raise Banned(found, status)

    # -- register / log in / log out ----------------------------------------------------
    def register(self, creds: P.Credentials, address: str = "?",
                 look: P.Look | None = None,
                 admit: Callable[[str], None] | None = None) -> tuple[Identity, str]:
        """A new account and its session.  ``admit(name)`` (the host's
        registration rules: closed, invite-only, retired names) raises
        AuthError for a name the host does not take."""
        try:
            P.check_new_account(creds)
        except P.ProtocolError as exc:
            raise AuthError(exc.code, exc.message, 400) from exc
        if admit is not None:
            admit(creds.username)
        if self.user_id(creds.username) is not None:
            raise AuthError(P.E_NAME_TAKEN, "that username is taken", 409)
        if self.storage.full:
            raise AuthError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE, 503)
        wait, _ = self.registrations.begin([f"addr:{address}"])
        if wait > 0:
            raise AuthError(P.E_THROTTLED,
                            f"too many new accounts from your address; try again in "
                            f"{int(wait) + 1} s", 429)
        pw_hash = self.hash_pool.hash(creds.password)
        try:
            # No look chosen: a random one, so newcomers do not all look alike.
            chosen = look or P.random_look(_LOOK_RNG)
            owner = self.owner_name
            uid = self.storage.create_user(
                creds.username, pw_hash, chosen.as_dict(),
                role=ROLE_OWNER if owner and owner.lower() == creds.username.lower()
                else ROLE_PLAYER, owner_if_first=not owner)
        except NameTaken as exc:
            raise AuthError(P.E_NAME_TAKEN, "that username is taken", 409) from exc
        except StorageFull as exc:
            raise AuthError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE, 503) from exc
        self._remember(uid, creds.username)
        role = self.storage.role_of(uid)
        if role and role != ROLE_PLAYER:
            self.roles[uid] = role
        if self.on_created is not None:
            self.on_created(uid, creds.username, role)
        return self._new_session(uid, creds.username)

    def login(self, creds: P.Credentials, address: str) -> tuple[Identity, str]:
        user = self.check_password(creds, address)
        self.refuse_if_banned(user.id, 403)
        if self._hasher.check_needs_rehash(user.pw_hash):
            new_hash = self.hash_pool.hash(creds.password)
            self.storage.update_password_hash(user.id, new_hash)
        return self._new_session(user.id, user.name)

    def check_password(self, creds: P.Credentials, address: str) -> UserRow:
        """The account if the password is right, throttled like every login
        (per account and per address); AuthError otherwise."""
        keys = [f"user:{creds.username.lower()}", f"addr:{address}"]
        # Counted as a failure now, refunded if the password is right.  An
        # attempt over the limit while earlier ones on the same keys are still
        # being checked waits for their outcome instead of being refused: a
        # household behind one address logging in together is not a guesser,
        # and a guesser's attempts still count one after another.
        deadline = time.monotonic() + LOGIN_QUEUE_MAX_S
        while True:
            wait, stamp = self.throttle.begin(keys)
            if wait <= 0 or not self.throttle.checking(keys) or time.monotonic() >= deadline:
                break
            self._outcome_waiters += 1
            try:
                self._outcome.acquire(timeout=LOGIN_QUEUE_RECHECK_S)
            finally:
                self._outcome_waiters -= 1
        if wait > 0:
            raise AuthError(P.E_THROTTLED,
                            f"too many failed logins; try again in {int(wait) + 1} s", 429)
        self.throttle.started(keys)
        try:
            user = self.storage.find_user(creds.username) \
                if P.is_valid_username(creds.username) else None
            ok = self.hash_pool.verify(user.pw_hash if user else self._dummy_hash,
                                      creds.password)
            if not user or not ok:
                raise AuthError(P.E_BAD_CREDENTIALS, BAD_CREDENTIALS_MESSAGE, 401)
            self.throttle.refund(keys, stamp)
        finally:
            self.throttle.decided(keys)
            if self._outcome_waiters > 0:
                self._outcome.release()
        return user

    def _new_session(self, uid: int, name: str) -> tuple[Identity, str]:
        session_id = secrets.token_urlsafe(18)
        try:
            self.storage.create_session(session_id, uid, self.token_ttl_s)
        except StorageFull as exc:
            raise AuthError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE, 503) from exc
        token = self._serializer.dumps({"s": session_id})
        return Identity(uid, name, session_id), token

    def logout(self, token: str) -> Identity:
        identity = self.verify_token(token)
        try:
            self.storage.revoke_session(identity.session_id)
        except StorageFull as exc:
            raise AuthError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE, 503) from exc
        return identity

    # -- tokens -------------------------------------------------------------------------
    def verify_token(self, token: object) -> Identity:
        """Who the token belongs to; AuthError when missing, forged, expired or revoked."""
        if not isinstance(token, str) or not token:
            raise AuthError(P.E_AUTH_REQUIRED, "a session token is required; log in first", 401)
        if len(token) > TOKEN_MAX_CHARS:
            raise AuthError(P.E_INVALID_TOKEN, "session token is not valid", 401)
        try:
            data = self._serializer.loads(token, max_age=self.token_ttl_s)
        except SignatureExpired as exc:
            raise AuthError(P.E_INVALID_TOKEN, "session has expired; log in again", 401) from exc
        except BadSignature as exc:
            raise AuthError(P.E_INVALID_TOKEN, "session token is not valid", 401) from exc
        session_id = data.get("s") if isinstance(data, dict) else None
        row = self.storage.get_session(session_id) if isinstance(session_id, str) else None
        if row is None:
            raise AuthError(P.E_INVALID_TOKEN, "session token is not valid", 401)
        # Before the revocation check: a ban revokes the tokens, and the
        # player is told why rather than "logged out".
        self.refuse_if_banned(row.user_id, 403)
        if row.revoked:
            raise AuthError(P.E_INVALID_TOKEN, "session was logged out; log in again", 401)
        if row.expires_at < time.time():
            raise AuthError(P.E_INVALID_TOKEN, "session has expired; log in again", 401)
        name = self.name_of(row.user_id)
        if name is None:
            # An account made by another host process on a shared database.
            name = self.storage.name_of(row.user_id)
            if name is None:
                raise AuthError(P.E_INVALID_TOKEN, "session token is not valid", 401)
            self._remember(row.user_id, name)
        return Identity(row.user_id, name, row.id)
