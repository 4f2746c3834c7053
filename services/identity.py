"""Who the caller is: sign-in with a password (Argon2) and, when enrolled, a one-time code; API tokens and
browser sessions; step-up for coercive sign-offs. Every sign-in, failure and odd token use goes to the
security log. The API's authentication dependency is the only caller of `authenticate_*`."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime, timedelta
from typing import Literal, NoReturn

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel

from domain.actors import Actor, Role
from domain.errors import DomainError, InvalidInput, LiaisonError, NotAuthenticated, NotAuthorised, NotFound
from domain.principal_events import OneTimeCodeEnrolled
from services.security import SecurityService
from services.views import Enrolment, IssuedToken
from settings import Settings
from store.principals import Credentials, Principal, Principals
from store.tokens import TOKEN_PREFIX, ApiToken, Tokens, WebSession, WebSessions

HASHER = PasswordHasher()
# Verified against when the principal is unknown, so a wrong id costs what a wrong password does.
_DUMMY_HASH = HASHER.hash("liaison: no such principal")
SIGN_IN_FAILED = "sign-in failed: unknown principal or wrong password"
MIN_PASSWORD_LENGTH = 12


def actor_of(principal: Principal) -> Actor:
    return Actor(id=principal.id, role=Role(principal.role), member_state=principal.member_state)


class Caller(BaseModel):
    """An authenticated caller: the actor every service method receives, and how it proved who it is."""

    actor: Actor
    principal: Principal
    via: Literal["token", "session", "local"]
    token_id: str | None = None
    csrf_token: str | None = None
    address: str | None = None


def check_password_rule(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", None, f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise InvalidInput("password", None, "password: at most 1024 characters")


class IdentityService:
    def __init__(self, principals: Principals, tokens: Tokens, sessions: WebSessions, security: SecurityService,
                 settings: Settings) -> None:
        self._principals = principals
        self._tokens = tokens
        self._sessions = sessions
        self._security = security
        self._settings = settings

    # --- sign-in ----------------------------------------------------------------------------------

    async def sign_in(self, principal_id: str, password: str, one_time_code: str | None, address: str | None,
                      ) -> Principal:
        """The principal whose password (and code, when enrolled) this is; slowed down and locked out
        after repeated failures. The attempt is counted before the password is checked, so requests sent
        in parallel cannot check more passwords than the limit. Every outcome is in the security log."""
        credentials = await asyncio.to_thread(self._principals.credentials, principal_id)
        attempts = 1
        if credentials is not None:
            attempts, locked = await asyncio.to_thread(self._principals.attempt, credentials.principal.id,
                                                       self._settings.sign_in_lock_after,
                                                       self._settings.sign_in_lock_for)
            if locked is not None:
                self._locked_out(credentials.principal.id, locked, address)
        problem = await asyncio.to_thread(self._check, credentials, password, one_time_code)
        if problem is not None:
            await self._failed(principal_id, credentials, problem, attempts, address)
        assert credentials is not None
        locked = await asyncio.to_thread(self._principals.signed_in, credentials.principal.id)
        if locked is not None:  # failures sent alongside locked it meanwhile
            self._locked_out(credentials.principal.id, locked, address)
        self._security.record("sign_in", "signed in", principal_id=credentials.principal.id,
                              role=credentials.principal.role, member_state=credentials.principal.member_state,
                              address=address)
        return credentials.principal

    def _locked_out(self, principal_id: str, until: datetime, address: str | None) -> NoReturn:
        self._security.record("sign_in_refused", f"locked until {until.isoformat()}", principal_id=principal_id,
                              address=address)
        raise logged(NotAuthenticated(f"{principal_id} is locked after repeated failed sign-ins until "
                                      f"{until:%Y-%m-%d %H:%M} UTC; an administrator can reset the password",
                                      code="locked_out"))

    def _check(self, credentials: Credentials | None, password: str, code: str | None) -> str | None:
        """Why the sign-in fails (for the security log), or None."""
        if credentials is None or credentials.password_hash is None:
            verify_password(_DUMMY_HASH, password)
            return "unknown principal" if credentials is None else "no password set"
        if not verify_password(credentials.password_hash, password):
            return "wrong password"
        if credentials.principal.disabled:
            return "principal disabled"
        if credentials.totp_secret and not self._code_ok(credentials, code):
            return "one-time code missing or wrong"
        return None

    async def _failed(self, principal_id: str, credentials: Credentials | None, problem: str, attempts: int,
                      address: str | None) -> NoReturn:
        known = credentials.principal.id if credentials is not None else principal_id[:120]
        self._security.record("sign_in_failed", f"{problem} (attempt {attempts})", principal_id=known,
                              address=address)
        delay = self._settings.sign_in_failure_delay.total_seconds() * 2 ** (attempts - 1)
        await asyncio.sleep(min(delay, 4.0))
        if problem == "principal disabled":
            raise logged(NotAuthenticated(f"{principal_id} is disabled; ask an administrator", code="sign_in_failed"))
        if problem.startswith("one-time code"):
            raise logged(NotAuthenticated("sign-in failed: a valid one-time code is needed (--otp CODE)",
                                          code="sign_in_failed"))
        raise logged(NotAuthenticated(SIGN_IN_FAILED, code="sign_in_failed"))

    def _code_ok(self, credentials: Credentials, code: str | None) -> bool:
        """A current code, each time step used once (a code seen over a shoulder cannot be replayed)."""
        if not code or not credentials.totp_secret:
            return False
        step = matching_step(credentials.totp_secret, code)
        return step is not None and self._principals.use_totp_step(credentials.principal.id, step)

    # --- tokens -----------------------------------------------------------------------------------

    def issue_token(self, principal: Principal, name: str, lifetime: timedelta | None, by: Actor
                    ) -> IssuedToken:
        lifetime = lifetime or self._settings.token_lifetime
        if lifetime <= timedelta(0) or lifetime > self._settings.token_max_lifetime:
            raise InvalidInput("expires_in", lifetime, "expires_in: a token lives more than 0 s and at most "
                               f"{self._settings.token_max_lifetime.days} days")
        if not name.strip() or len(name) > 100:
            raise InvalidInput("name", name, "name: a token has a name of 1 to 100 characters")
        token, secret = self._tokens.issue(principal.id, name.strip(), lifetime, by.id)
        self._security.record("token_issued", f"token {token.id} ({token.name}) until "
                              f"{token.expires_at:%Y-%m-%d %H:%M}", principal_id=principal.id, role=principal.role,
                              member_state=principal.member_state)
        return IssuedToken(token=secret, token_id=token.id, name=token.name, principal_id=principal.id,
                           role=principal.role, member_state=principal.member_state,
                           expires_at=token.expires_at, must_change_password=principal.must_change_password)

    def authenticate_token(self, secret: str, address: str | None) -> Caller:
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            raise NotAuthenticated("not signed in: the token is not a Liaison token (`liaison login`)")
        token = self._tokens.find(secret)
        now = datetime.now(UTC)
        if token is None or not token.usable(now):
            why = "unknown" if token is None else "revoked" if token.revoked_at else "expired"
            self._security.record("token_refused", f"{why} token", principal_id=token.principal_id if token else None,
                                  address=address)
            raise logged(NotAuthenticated(f"not signed in: the token is {why}; sign in again with `liaison login`"))
        principal = self._active(token.principal_id, address)
        self._note_use(token, now, address)
        return Caller(actor=actor_of(principal), principal=principal, via="token", token_id=token.id,
                      address=address)

    def _note_use(self, token: ApiToken, now: datetime, address: str | None) -> None:
        """Record use sparingly (one write a minute), and always a use from another address."""
        moved = token.last_address is not None and address != token.last_address
        if moved:
            self._security.record("token_new_address", f"token {token.id} ({token.name}) used from {address}, "
                                  f"last from {token.last_address}", principal_id=token.principal_id, address=address)
        if moved or token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1) \
                or token.last_address is None:
            self._tokens.used(token.id, now, address)

    def _active(self, principal_id: str, address: str | None) -> Principal:
        principal = self._principals.get(principal_id)
        if principal is None or principal.disabled:
            self._security.record("credential_refused", "principal disabled or removed", principal_id=principal_id,
                                  address=address)
            raise logged(NotAuthenticated(f"not signed in: {principal_id} is disabled; ask an administrator"))
        return principal

    def tokens(self, caller: Actor, principal_id: str | None = None) -> list[ApiToken]:
        """A principal's own tokens; an administrator's view of anyone's (or everyone's)."""
        if caller.role is not Role.ADMINISTRATOR:
            if principal_id not in (None, caller.id):
                raise NotAuthorised(f"{caller.describe()} may list only its own tokens", field="principal_id",
                                    value=principal_id)
            principal_id = caller.id
        return self._tokens.list(principal_id)

    def revoke_token(self, caller: Actor, token_id: str) -> ApiToken:
        token = self._tokens.get(token_id)
        if token is None or (token.principal_id != caller.id and caller.role is not Role.ADMINISTRATOR):
            raise NotFound("token_id", token_id, f"token_id: no token {token_id!r} of yours")
        self._tokens.revoke(token_id)
        self._security.record("token_revoked", f"token {token.id} ({token.name}) revoked by {caller.id}",
                              principal_id=token.principal_id)
        revoked = self._tokens.get(token_id)
        assert revoked is not None
        return revoked

    # --- browser sessions -------------------------------------------------------------------------

    def start_session(self, principal: Principal, address: str | None) -> tuple[str, WebSession]:
        return self._sessions.start(principal.id, self._settings.session_lifetime, address)

    def authenticate_session(self, session_id: str, address: str | None) -> Caller:
        session = self._sessions.find(session_id) if session_id and len(session_id) <= 200 else None
        now = datetime.now(UTC)
        if session is None or session.revoked or now >= session.expires_at \
                or now - session.last_seen_at > self._settings.session_idle_timeout:
            raise NotAuthenticated("not signed in: the session has ended; sign in again")
        principal = self._active(session.principal_id, address)
        if now - session.last_seen_at > timedelta(seconds=30):
            self._sessions.seen(session_id, now)
        return Caller(actor=actor_of(principal), principal=principal, via="session", csrf_token=session.csrf_token,
                      address=address)

    def end_session(self, session_id: str) -> None:
        self._sessions.end(session_id)

    # --- one-time codes ---------------------------------------------------------------------------

    def enrol(self, caller: Actor, password: str) -> Enrolment:
        """A new secret for an authenticator app; it counts once a code from it is confirmed. It asks for
        the password again, so a stolen token alone cannot replace a second factor."""
        self._reauthenticate(caller, password)
        secret = pyotp.random_base32()
        self._principals.set_totp_pending(caller.id, secret)
        return Enrolment(secret=secret, uri=pyotp.TOTP(secret).provisioning_uri(name=caller.id, issuer_name="Liaison"))

    def _reauthenticate(self, caller: Actor, password: str) -> None:
        """The caller's password, checked again (counted and locked like a sign-in)."""
        credentials = self._principals.credentials(caller.id)
        assert credentials is not None
        _, locked = self._principals.attempt(caller.id, self._settings.sign_in_lock_after,
                                             self._settings.sign_in_lock_for)
        if locked is not None:
            raise logged(NotAuthenticated(f"{caller.id} is locked after repeated failures until "
                                          f"{locked:%Y-%m-%d %H:%M} UTC", code="locked_out"))
        if credentials.password_hash is None or not verify_password(credentials.password_hash, password):
            self._security.record("reauthentication_failed", "wrong password", actor=caller)
            raise logged(InvalidInput("password", None, "password: not your current password"))
        self._principals.signed_in(caller.id)

    def confirm_enrolment(self, caller: Actor, code: str) -> Principal:
        credentials = self._principals.credentials(caller.id)
        assert credentials is not None
        if not credentials.totp_pending:
            raise NotFound("one_time_code", None, "no enrolment under way: start one with `liaison otp enrol`")
        step = matching_step(credentials.totp_pending, code)
        if step is None:
            raise InvalidInput("code", None, "code: not the current code of the secret being enrolled")
        now = datetime.now(UTC)
        # The confirming code's time step counts as used: it cannot sign in or step up afterwards.
        self._principals.change(caller.id, OneTimeCodeEnrolled(actor=caller, at=now, justification="enrolled",
                                                                principal_id=caller.id),
                                totp_secret=credentials.totp_pending, totp_pending=None, totp_last_step=step)
        self._security.record("one_time_code_enrolled", "enrolled", principal_id=caller.id)
        principal = self._principals.get(caller.id)
        assert principal is not None
        return principal

    def fields(self, actor: Actor, code: str | None) -> dict[str, bool]:
        """The server-set fields of a sign-off: step_up (a valid one-time code came with it) and
        step_up_required (the principal enrolled one, or approvers must): the decider refuses a coercive
        sign-off that required a code and came without one. A wrong or replayed code is refused here."""
        credentials = self._principals.credentials(actor.id)
        enrolled = credentials is not None and credentials.totp_secret is not None
        required = enrolled or (self._settings.require_one_time_code_for_approvers and actor.role is Role.APPROVER)
        if not code:
            return {"step_up": False, "step_up_required": required}
        if credentials is None or not enrolled:
            raise InvalidInput("one_time_code", None, f"one_time_code: {actor.id} has no one-time code enrolled; "
                               "enrol one with `liaison otp enrol`, or send the sign-off without a code")
        _, locked = self._principals.attempt(actor.id, self._settings.sign_in_lock_after,
                                             self._settings.sign_in_lock_for)
        if locked is not None:  # guessing codes locks like guessing passwords
            raise DomainError("step_up_required", f"one_time_code: {actor.id} is locked after repeated wrong "
                              f"codes until {locked:%Y-%m-%d %H:%M} UTC", field="one_time_code")
        if not self._code_ok(credentials, code):
            self._security.record("step_up_failed", "one-time code wrong or used already", actor=actor)
            raise logged(DomainError("step_up_required", f"one_time_code: not a current code of {actor.id}'s "
                                     "authenticator, or used already; wait for the next one",
                                     field="one_time_code"))
        self._principals.signed_in(actor.id)
        return {"step_up": True, "step_up_required": required}


def matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is; None when none."""
    totp, now = pyotp.TOTP(secret), datetime.now(UTC)
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=30 * drift)
        if hmac.compare_digest(totp.at(moment).encode(), code.strip().encode(errors="replace")):
            return int(totp.timecode(moment))
    return None


def logged(error: LiaisonError) -> LiaisonError:
    """Mark a refusal the security log already holds, so the API does not write it again."""
    error.security_logged = True
    return error


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
