"""Attacks on signing in and activating, through the real forms.

One-time codes replayed and guessed, the guesses spread over many client addresses and
forged X-Forwarded-For headers; one answer (after one argon2 check) for unknown, wrong and
locked logins; activation codes guessed by typing and by link. Every request an attacker
sends is counted in the figures SECURITY.md quotes. Session attacks (copied cookies,
cookie flags, session ids) are in test_sessions_attacks.py.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from portal.accounts import passwords, signin, totp
from portal.activation import codes
from portal.core import clock
from portal.extensions import db
from portal.models import UserSession
from tests.conftest import make_app
from tests.fixtures.activation import unusable_tokens
from tests.fixtures.clients import fresh_code, in_english, text_of

# The defaults of portal/config.py, which the README documents; the test settings relax them.
DOCUMENTED_LIMITS = {
    "SIGNIN_RATE_LIMIT": "20/minute;200/hour",
    "CODE_RATE_LIMIT": "10/minute;100/hour",
    "ACTIVATION_RATE_LIMIT": "20/minute;100/hour",
}
CODES_PER_MINUTE = 10
SIGNINS_PER_MINUTE = 20
ACTIVATIONS_PER_MINUTE = 20

# Where an attacker must never land: a role's space, the account pages, an activation under way.
INSIDE = ("/patient", "/doctor", "/cns", "/account", "/activate/continue")
NEW_PASSWORD = "attacker chose this long passphrase"


class Attacker:
    """Sends the attack requests and counts what came back."""

    def __init__(self):
        self.requests = 0
        self.server_errors = 0
        self.unauthorised_2xx = 0  # a page with data the attacker must not see
        self.let_in = 0  # a redirect into a space: signed in, or an activation begun

    def send(self, client, method: str, path: str, *, protected: bool = False, **kwargs):
        response = client.open(path, method=method, **kwargs)
        self.requests += 1
        if response.status_code >= 500:
            self.server_errors += 1
        if protected and shows_data(response):
            self.unauthorised_2xx += 1
        if response.status_code in (301, 302, 303, 307) and response.headers["Location"].startswith(INSIDE):
            self.let_in += 1
        return response


def shows_data(response) -> bool:
    # An htmx request refused for want of a session gets an empty 200 with HX-Redirect.
    return 200 <= response.status_code < 300 and bool(response.data) and "HX-Redirect" not in response.headers


def record(figures, attacker: Attacker) -> None:
    figures.add("security.requests", attacker.requests)
    figures.add("security.5xx", attacker.server_errors)
    figures.add("security.unauthorised_2xx", attacker.unauthorised_2xx)
    figures.add("security.auth.unauthorised_signins", attacker.let_in)


@pytest.fixture
def attacker(figures):
    sender = Attacker()
    yield sender
    record(figures, sender)
    assert sender.server_errors == 0, "an attack request got a 5xx"
    assert sender.unauthorised_2xx == 0, "an attack request was shown data"
    assert sender.let_in == 0, "an attack request was let in"


def addresses(prefix: str = "10"):
    """A new client address per request, as a botnet has."""
    for n in itertools.count(1):
        yield f"{prefix}.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def forged() -> str:
    return f"{random.randint(1, 223)}.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def from_address(address: str, forwarded: str | None = None) -> dict:
    extra = {"environ_base": {"REMOTE_ADDR": address}}
    if forwarded is not None:
        extra["headers"] = {"X-Forwarded-For": forwarded}
    return extra


def wrong_code(secret: str) -> str:
    """A random code that is not one the portal would accept now.

    A real attacker can also draw a right one (the odds are what SECURITY.md computes); the
    test leaves them out so that it counts guesses instead of occasionally winning one."""
    accepted = {totp.code_for(secret, totp.current_step() + d) for d in range(-1, 2)}
    while (guess := f"{random.randrange(10**6):06d}") in accepted:
        pass
    return guess


def credential_of(person):
    db.session.refresh(person.account.credential)
    return person.account.credential


# ---------------------------------------------------------------------------------------
# One-time codes: replay


def test_a_code_seen_over_the_shoulder_is_refused_when_replayed_from_another_address(app, people, attacker):
    patient = people["patient"]
    victim = app.test_client()
    victim.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    victim.post("/login", data={"login": patient.login, "password": patient.password})
    code = fresh_code(patient)
    assert victim.post("/login/code", data={"code": code}).headers["Location"] == "/patient/"

    # The attacker also knows the password, and sends the code within the same 30 seconds.
    thief = app.test_client()
    origin = from_address("198.51.100.7", forwarded="192.0.2.10")
    assert attacker.send(thief, "POST", "/login", data={"login": patient.login, "password": patient.password},
                         **origin).status_code == 303
    replay = attacker.send(thief, "POST", "/login/code?lang=en", data={"code": code}, **origin)
    assert replay.status_code == 200 and "not correct" in text_of(replay)
    assert attacker.send(thief, "GET", "/patient/", protected=True, **origin).headers["Location"].startswith("/login")

    # Nor does the code reset the password on the "forgot" page.
    reset = attacker.send(thief, "POST", "/forgot", data={
        "login": patient.login, "code": code, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    }, **from_address("203.0.113.9"))
    assert reset.status_code == 200
    assert passwords.verify_password(credential_of(patient).password_hash, patient.password)


def test_a_recovery_code_is_refused_the_second_time_from_another_address(app, people, attacker):
    patient = people["patient"]
    recovery_codes = totp.issue_recovery_codes(patient.account.id)
    db.session.commit()
    owner = app.test_client()
    owner.post("/login", data={"login": patient.login, "password": patient.password})
    assert owner.post("/login/recovery", data={"code": recovery_codes[0]}).headers["Location"] == "/patient/"

    thief = app.test_client()
    origin = from_address("198.51.100.8", forwarded="192.0.2.10")
    attacker.send(thief, "POST", "/login", data={"login": patient.login, "password": patient.password}, **origin)
    assert attacker.send(thief, "POST", "/login/recovery", data={"code": recovery_codes[0]}, **origin).status_code == 200
    reset = attacker.send(thief, "POST", "/forgot", data={
        "login": patient.login, "code": recovery_codes[0], "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    }, **origin)
    assert reset.status_code == 200


# ---------------------------------------------------------------------------------------
# One-time codes: guessing


def _guess(app, attacker, person, where: str, origin: dict):
    """One guess of the second factor, from a fresh browser at `origin`."""
    browser = app.test_client()
    if where == "reset":  # needs only the login
        return attacker.send(browser, "POST", "/forgot", data={
            "login": person.login, "code": wrong_code(person.secret), "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        }, **origin)
    step = attacker.send(browser, "POST", "/login", data={"login": person.login, "password": person.password},
                         **origin)
    if step.status_code != 303:
        return step  # locked: the password step says no more than for a wrong password
    if where == "code":
        return attacker.send(browser, "POST", "/login/code", data={"code": wrong_code(person.secret)}, **origin)
    guess = "-".join(f"{random.getrandbits(20):05x}" for _ in range(2))
    return attacker.send(browser, "POST", "/login/recovery", data={"code": guess}, **origin)


def test_guesses_from_a_thousand_addresses_end_in_a_lock_only_an_operator_lifts(people, attacker, figures):
    app = make_app(**DOCUMENTED_LIMITS)
    patient = people["patient"]  # the attacker has phished the password, not the phone
    origins = addresses("10")
    with_a_chance = 0  # guesses the portal checked: sent while the account was not locked
    refused_while_locked = 0
    waited = timedelta()
    for where in itertools.islice(itertools.cycle(["code", "recovery", "reset"]), 1000):
        credential = credential_of(patient)
        if credential.failed_attempts >= signin.HARD_LOCK_AFTER:
            break
        if signin.is_locked(credential):
            # Guessing on during a lock is wasted: even the right code is refused, and not counted.
            late = app.test_client()
            origin = from_address(next(origins), forwarded=forged())
            attacker.send(late, "POST", "/login", data={"login": patient.login, "password": patient.password},
                          **origin)
            assert attacker.send(late, "POST", "/forgot", data={
                "login": patient.login, "code": totp.code_for(patient.secret), "new_password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD}, **origin).status_code == 200
            refused_while_locked += 1
            wait = credential.locked_until - clock.now() + timedelta(seconds=1)
            clock.freeze(clock.now() + wait)
            waited += wait
            continue
        with_a_chance += 1
        response = _guess(app, attacker, patient, where, from_address(next(origins), forwarded=forged()))
        assert response.status_code == 200, (where, response.status_code)
    credential = credential_of(patient)
    assert credential.locked_until.year == 9999
    assert with_a_chance == signin.HARD_LOCK_AFTER == credential.failed_attempts
    assert refused_while_locked > 0

    # A year later the right password and the right code are still refused.
    clock.freeze(clock.now() + timedelta(days=365))
    owner = app.test_client()
    assert owner.post("/login", data={"login": patient.login, "password": patient.password}).status_code == 200
    assert not passwords.verify_password(credential.password_hash, NEW_PASSWORD)
    # Until an operator unlocks the account.
    result = app.test_cli_runner().invoke(args=["accounts", "unlock", patient.login])
    assert result.exit_code == 0, result.output
    assert owner.post("/login", data={"login": patient.login, "password": patient.password}).status_code == 303
    assert owner.post("/login/code", data={"code": fresh_code(patient)}).headers["Location"] == "/patient/"

    # Each checked guess wins if it equals one of the codes accepted at that moment: the
    # current step and one step either side, 2 * TOLERANCE_STEPS + 1 = 3 codes out of 10^6
    # (fewer once a step is used). Over N checked guesses the attacker's chance is at most
    # 1 - (1 - 3/10^6)^N, about N * 3 / 10^6: for N = 100, 0.03 %, or 300 in a million.
    accepted_per_guess = 2 * totp.TOLERANCE_STEPS + 1
    figures.add("security.totp.guesses_before_permanent_lock", with_a_chance)
    figures.add("security.totp.success_chance_per_million", round(1e6 * (1 - (1 - accepted_per_guess / 1e6) ** with_a_chance)))
    figures.add("security.totp.attacker_minutes_until_permanent_lock", int(waited.total_seconds() // 60))


def test_one_address_gets_the_code_limit_whatever_x_forwarded_for_it_forges(people, attacker):
    app = make_app(**DOCUMENTED_LIMITS)  # TRUSTED_PROXIES=0: no proxy in front
    patients = [people["patient"], people["doctor"], people["cns"]]
    browsers = []
    for person in patients:  # spraying several accounts keeps each below its own lock
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = "198.51.100.20"
        attacker.send(browser, "POST", "/login", data={"login": person.login, "password": person.password},
                      headers={"X-Forwarded-For": forged()})
        browsers.append((browser, person))
    pages = itertools.cycle(["/login/code", "/login/recovery"])  # one budget for both code pages
    statuses = []
    for (browser, person), path in zip(itertools.islice(itertools.cycle(browsers), CODES_PER_MINUTE + 5), pages,
                                       strict=False):
        statuses.append(attacker.send(browser, "POST", path, data={"code": wrong_code(person.secret)},
                                      headers={"X-Forwarded-For": forged()}).status_code)
    assert statuses == [200] * CODES_PER_MINUTE + [429] * 5
    # Even the right code is answered by the limit, not checked.
    browser, person = browsers[0]
    assert attacker.send(browser, "POST", "/login/code", data={"code": totp.code_for(person.secret)},
                         headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429
    # Another real address is not affected: the key is the address, not a header.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.21"
    other.post("/login", data={"login": person.login, "password": person.password})
    assert other.post("/login/code", data={"code": wrong_code(person.secret)}).status_code == 200


def test_one_address_gets_the_sign_in_limit_across_the_password_pages(people, attacker):
    app = make_app(**DOCUMENTED_LIMITS)
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = "198.51.100.30"
    statuses = []
    for n in range(SIGNINS_PER_MINUTE + 3):
        forwarded = {"X-Forwarded-For": forged()}
        if n % 2:  # a password sprayed over many logins, or codes tried on the reset page
            response = attacker.send(browser, "POST", "/login", data={"login": f"{n:013d}", "password": "Summer2024!"},
                                     headers=forwarded)
        else:
            response = attacker.send(browser, "POST", "/forgot", data={
                "login": f"{n:013d}", "code": "123456", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
            }, headers=forwarded)
        statuses.append(response.status_code)
    assert statuses == [200] * SIGNINS_PER_MINUTE + [429] * 3


def test_behind_one_trusted_proxy_only_the_address_it_adds_counts(people, attacker):
    app = make_app(**DOCUMENTED_LIMITS, TRUSTED_PROXIES=1)
    patient = people["patient"]
    proxy = "10.0.0.2"  # every request reaches gunicorn from the proxy

    def via_proxy(client_address: str, prepended: str | None = None) -> dict:
        # The client may send any X-Forwarded-For; the proxy appends the address it saw.
        chain = f"{prepended}, {client_address}" if prepended else client_address
        return from_address(proxy, forwarded=chain)

    browser = app.test_client()
    attacker.send(browser, "POST", "/login", data={"login": patient.login, "password": patient.password},
                  **via_proxy("203.0.113.50", forged()))
    statuses = [
        attacker.send(browser, "POST", "/login/code", data={"code": wrong_code(patient.secret)},
                      **via_proxy("203.0.113.50", ", ".join(forged() for _ in range(n % 3 + 1)))).status_code
        for n in range(CODES_PER_MINUTE + 2)
    ]
    assert statuses == [200] * CODES_PER_MINUTE + [429] * 2
    credential = credential_of(patient)
    assert signin.is_locked(credential)  # ten wrong codes: the account's own lock came first
    credential.failed_attempts, credential.locked_until = 0, None
    db.session.commit()

    # Another client behind the same proxy has its own budget, and its session records the
    # address the proxy saw, not the one it claimed.
    owner = app.test_client()
    owner.post("/login", data={"login": patient.login, "password": patient.password},
               **via_proxy("203.0.113.51", "127.0.0.1"))
    signed = owner.post("/login/code", data={"code": fresh_code(patient)}, **via_proxy("203.0.113.51", "127.0.0.1"))
    assert signed.headers["Location"] == "/patient/"
    row = db.session.scalar(db.select(UserSession).where(UserSession.account_id == patient.account.id))
    assert row.ip == "203.0.113.51"


def test_without_a_trusted_proxy_a_forged_header_is_not_recorded_as_the_address(app, people):
    patient = people["patient"]
    browser = app.test_client()
    origin = from_address("198.51.100.40", forwarded="127.0.0.1")
    browser.post("/login", data={"login": patient.login, "password": patient.password}, **origin)
    browser.post("/login/code", data={"code": fresh_code(patient)}, **origin)
    row = db.session.scalar(db.select(UserSession).where(UserSession.account_id == patient.account.id))
    assert row.ip == "198.51.100.40"


# ---------------------------------------------------------------------------------------
# One answer for unknown, wrong and locked logins

CSRF_TOKENS = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
# Retry-After counts the seconds to the end of the rate-limit window: it ticks between two requests.
VARYING_HEADERS = {"Set-Cookie", "X-RateLimit-Reset", "Retry-After", "Date"}


def csrf_tokens(body: str) -> set[str]:
    return {value for pair in CSRF_TOKENS.findall(body) for value in pair if value}


def _normalised(response, login: str) -> tuple:
    body = response.get_data(as_text=True)
    for token in csrf_tokens(body):
        body = body.replace(token, "TOKEN")
    body = body.replace(login, "LOGIN")
    headers = {k: v for k, v in response.headers.items() if k not in VARYING_HEADERS}
    cookies = sorted(
        (cookie.split("=", 1)[0], sorted(part.strip().lower() for part in cookie.split(";")[1:]))
        for cookie in response.headers.getlist("Set-Cookie")
    )
    return response.status_code, body, sorted(headers.items()), cookies


def test_unknown_wrong_and_locked_logins_get_one_answer_after_one_argon2_check(make_patient, monkeypatch, attacker):
    app = make_app(WTF_CSRF_ENABLED=True)  # as in production: the attacker fetches the form first
    wrong, locked, locked_for_good = make_patient(), make_patient(), make_patient()
    locked.account.credential.failed_attempts = signin.LOCK_AFTER
    locked.account.credential.locked_until = clock.now() + timedelta(minutes=1)
    locked_for_good.account.credential.failed_attempts = signin.HARD_LOCK_AFTER
    locked_for_good.account.credential.locked_until = signin.HARD_LOCK_UNTIL
    db.session.commit()
    cases = {
        "unknown login": ("0000000000000", "a password of some length"),
        "wrong password": (wrong.login, "a password of some length"),
        "locked, right password": (locked.login, locked.password),
        "locked, wrong password": (locked.login, "a password of some length"),
        "locked for good, right password": (locked_for_good.login, locked_for_good.password),
    }
    assert {len(login) for login, _ in cases.values()} == {13}

    verified = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, stored_hash, password):
        verified.append(1)
        return real_verify(self, stored_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    answers, checks = {}, {}
    for n, (case, (login, password)) in enumerate(cases.items()):
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"198.51.100.{60 + n}"  # each its own rate-limit counters
        form = browser.get("/login?lang=en")
        (token,) = csrf_tokens(form.get_data(as_text=True))
        verified.clear()
        response = attacker.send(browser, "POST", "/login?lang=en",
                                 data={"login": login, "password": password, "csrf_token": token})
        checks[case] = len(verified)
        answers[case] = _normalised(response, login)
        assert "not correct" in text_of(response)
    assert checks == dict.fromkeys(cases, 1), "each answer costs exactly one argon2 verification"
    reference = answers["unknown login"]
    for case, answer in answers.items():
        assert answer[0] == reference[0] == 200, case
        assert answer[1] == reference[1], f"the page tells '{case}' apart"
        assert answer[2] == reference[2], f"the headers tell '{case}' apart"
        assert answer[3] == reference[3], f"the cookies tell '{case}' apart"
    # The right password did not unlock anything or reset the counters.
    assert credential_of(locked).failed_attempts == signin.LOCK_AFTER
    assert credential_of(locked_for_good).locked_until.year == 9999


# ---------------------------------------------------------------------------------------
# Activation codes


def _activation_answer(response, follow) -> tuple:
    landing = follow.get(response.headers["Location"]) if response.status_code == 303 else response
    return response.status_code, response.headers.get("Location"), landing.status_code, text_of(landing)


def test_guessed_activation_codes_get_one_answer_then_the_limit(make_patient, make_doctor, issue_code, attacker,
                                                               figures):
    app = make_app(**DOCUMENTED_LIMITS)
    tokens = unusable_tokens(make_patient, make_doctor, issue_code)
    _, good_token = issue_code(make_patient(with_account=False).profile, make_doctor().profile)
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = "198.51.100.70"
    reader = app.test_client()  # reads the landing pages, outside the attacker's budget
    reader.environ_base["REMOTE_ADDR"] = "198.51.100.71"
    in_english(reader)
    answers = {}
    for case, token in tokens.items():
        typed = attacker.send(browser, "POST", "/activate?lang=en", data={"code": codes.grouped(token)},
                              headers={"X-Forwarded-For": forged()})
        answers[f"typed, {case}"] = _activation_answer(typed, reader)
        linked = attacker.send(browser, "GET", f"/activate/{token}?lang=en", headers={"X-Forwarded-For": forged()})
        answers[f"link, {case}"] = _activation_answer(linked, reader)
    (answer,) = set(answers.values())
    assert answer[:3] == (303, "/activate/invalid", 200) and "cannot be used" in answer[3]

    # Random guesses, typed and by link, until the limit answers.
    statuses = [status for status, *_ in answers.values()]
    while len(statuses) < ACTIVATIONS_PER_MINUTE + 4:
        guess = codes.new_token()
        forwarded = {"X-Forwarded-For": forged()}
        if len(statuses) % 2:
            response = attacker.send(browser, "GET", f"/activate/{guess}", headers=forwarded)
        else:
            response = attacker.send(browser, "POST", "/activate", data={"code": codes.grouped(guess)},
                                     headers=forwarded)
        statuses.append(response.status_code)
    assert statuses == [303] * ACTIVATIONS_PER_MINUTE + [429] * 4
    figures.add("security.activation.guesses_per_address_and_minute", statuses.count(303))
    # Past the limit even a good code, by either way, is answered by the limit.
    assert attacker.send(browser, "GET", f"/activate/{good_token}", headers={"X-Forwarded-For": "192.0.2.1"}
                         ).status_code == 429
    assert attacker.send(browser, "POST", "/activate", data={"code": codes.grouped(good_token)}).status_code == 429
    # A different real address is answered as usual.
    assert reader.post("/activate", data={"code": codes.grouped(codes.new_token())}).headers["Location"] \
        == "/activate/invalid"


INVALID = (303, "/activate/invalid")
# The form again with an error (200 or 400): nothing is looked up. A typed code of the wrong
# length is told so (which says nothing about the codes that exist).
FORM_ERROR = "the field's own check"


@pytest.mark.parametrize(
    ("token", "typed_answer", "link_answer"),
    [
        ("", FORM_ERROR, None),
        ("x" * 5000, FORM_ERROR, INVALID),
        ("../../etc/passwd", FORM_ERROR, (404, None)),  # not even the link's route
        ("%00", FORM_ERROR, INVALID),
        ("<script>", FORM_ERROR, INVALID),
        ("ÄÖÜ-ß", FORM_ERROR, INVALID),
        ("<>" + "Z" * 20, INVALID, INVALID),  # the length of a code, but none
        ("ÄÖÜ-" + "0" * 20, INVALID, INVALID),
        ("A" * 32, INVALID, INVALID),  # the length of a code issued before
    ],
)
def test_malformed_activation_codes_get_the_usual_answer(app, attacker, token, typed_answer, link_answer):
    browser = app.test_client()
    typed = attacker.send(browser, "POST", "/activate", data={"code": token})
    if typed_answer == FORM_ERROR:
        assert typed.status_code in (200, 400) and "Location" not in typed.headers
    else:
        assert (typed.status_code, typed.headers.get("Location")) == typed_answer
    if link_answer:
        linked = attacker.send(browser, "GET", f"/activate/{token}")
        assert (linked.status_code, linked.headers.get("Location")) == link_answer
