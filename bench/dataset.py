"""The rows of a benchmark data set, as COPY text, table by table.

Deterministic for a seed and a size. Bench accounts (common.BENCH_USERS per role) and the
bench patients' 150 invoices each come from their own random streams, so they are the same
at every size: only the rest of the tables grows.
"""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bench import common
from portal.core.identity import make_iban, make_matricule
from portal.invoicing.invoices import channel_for

DAY = 86_400
HOUR = 3_600
HISTORY_DAYS = 740  # a little past the two-year retention, so a few invoices are expired

SURNAMES = (
    "Schmit", "Muller", "Weber", "Wagner", "Hoffmann", "Thill", "Schmitz", "Schroeder", "Reuter", "Klein", "Kremer",
    "Faber", "Becker", "Meyer", "Kieffer", "Reding", "Majerus", "Hansen", "Steffen", "Welter", "Theis", "Ries",
    "Goergen", "Lentz", "Feller", "Jung", "Frisch", "Kayser", "Scholtes", "Bernard", "Da Silva", "Pereira",
    "Ferreira", "Rodrigues", "Martins", "Dupont", "Lambert", "Simon", "Marx", "Braun",
)
GIVEN = (
    "Anne", "Marie", "Claire", "Léa", "Sophie", "Laura", "Sarah", "Julie", "Emma", "Nora", "Lisa", "Mia", "Paul",
    "Luc", "Marc", "Jean", "Pierre", "Tom", "Ben", "Max", "Noah", "Louis", "Gilles", "Yves", "Michel", "Carlos",
    "Ana", "João", "Eric", "Patrick", "Sandra", "Nathalie", "Christiane", "Jeff", "Steve", "Lynn", "Joé",
)
SPECIALTIES = (  # (specialty, act category of the consultation, weight)
    ("General practice", "general_practice", 45),
    ("Dentistry", "dentistry", 20),
    ("Paediatrics", "specialist", 7),
    ("Internal medicine", "specialist", 8),
    ("Dermatology", "specialist", 6),
    ("Psychiatry", "specialist", 5),
    ("Cardiology", "specialist", 9),
)
FUNDS = (("CNS", 85), ("CMFEP", 8), ("CMFEC", 4), ("EMCFL", 3))
REJECTIONS = ("not_covered", "duplicate", "not_insured", "incomplete")
QUESTION = "Please tell us whether this consultation followed an accident."
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

COLUMNS = {
    "terms_version": "id number published_at text_fr text_de text_en",
    "account": "id role login status preferred_language is_demo terms_accepted created_at",
    "credential": "account_id password_hash password_changed_at totp_secret totp_pending_secret totp_enrolled_at "
                  "totp_last_step failed_attempts locked_until",
    "terms_decision": "id account_id terms_version_id is_accepted decided_at",
    "doctor": "id provider_code name specialty is_digital_participant account_id created_at iban",
    "cns_staff": "id staff_id name fund_scope account_id created_at",
    "patient": "id matricule surname given_name birth_date mobile email fund iban account_id created_at "
               "is_auto_share objects_to_statistics covered_from",
    "invoice": "id number doctor_id patient_id provider_code patient_matricule service_date issued_at channel "
               "is_paid_on_site paid_at is_payer_patient total_cents voided_at void_reason expires_at replaces_id "
               "is_direct_payment direct_consent_by direct_consent_method direct_consent_at",
    "invoice_line": "id invoice_id position act_id act_code quantity unit_fee_cents total_cents",
    "claim": "id reference invoice_id patient_id doctor_id fund channel state version iban total_cents computed_cents "
             "reimbursed_cents adjustment_reason rejection_reason rejection_note shared_at received_at taken_at "
             "taken_by_id decided_at decided_by_id withdrawn_at frozen_at retained_by_id is_direct_payment",
    "claim_event": "id claim_id kind at actor_role staff_id message document_name document_type",
    "consent_receipt": "id claim_id patient_id account_id method recipient_fund invoice_number given_at",
    "statement": "id claim_id number issued_at payment_date billed_cents reimbursed_cents adjustment_cents",
    "statement_line": "id statement_id position provider_code act_code quantity billed_cents tariff_cents "
                      "participation_cents reimbursed_cents",
    "notification": "id patient_id kind claim_id invoice_id created_at read_at",
    "audit_event": "id occurred_at event actor_account_id actor_role ip patient_id data",
}
REGISTRY = ("terms_version", "account", "credential", "terms_decision", "doctor", "cns_staff", "patient")
FAMILY = ("invoice", "invoice_line", "claim", "claim_event", "consent_receipt", "statement", "statement_line",
          "notification", "audit_event")
N = "\\N"


@dataclass(frozen=True)
class Act:
    id: int
    code: str
    fee_cents: int
    category: str
    effective_from: date
    is_direct_payment_eligible: bool


@dataclass
class Secrets:
    password_hash: str
    totp_tokens: dict[str, str]  # bench login -> Fernet token of its TOTP secret
    other_totp_token: str  # one token shared by every non-bench account: nobody signs in as them
    terms: dict[str, str]


@dataclass
class Person:
    matricule: str
    birth: date
    fund: str
    iban: str | None
    account_id: int | None
    auto_share: bool


@dataclass
class Counters:
    ids: dict[str, int] = field(default_factory=dict)

    def next(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _bool(value: bool) -> str:
    return "t" if value else "f"


def _opt(value) -> str:
    return N if value is None else str(value)


class Clock:
    """Epoch seconds to COPY text, fast: day strings are cached."""

    def __init__(self, now: datetime) -> None:
        self.now = int(now.timestamp())
        self.today = now.date()
        self._days: dict[int, str] = {}

    def day(self, epoch_day: int) -> str:
        text = self._days.get(epoch_day)
        if text is None:
            text = self._days[epoch_day] = (date(1970, 1, 1) + timedelta(days=epoch_day)).isoformat()
        return text

    def ts(self, epoch: int | None) -> str:
        if epoch is None:
            return N
        d, s = divmod(epoch, DAY)
        return f"{self.day(d)} {s // HOUR:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00"

    def date_of(self, epoch: int) -> date:
        return date(1970, 1, 1) + timedelta(days=epoch // DAY)


def add_two_years(epoch: int) -> int:
    moment = datetime.fromtimestamp(epoch, UTC)
    try:
        later = moment.replace(year=moment.year + 2)
    except ValueError:
        later = moment.replace(year=moment.year + 2, day=28)
    return int(later.timestamp())


def payment_date(decided: date) -> date:
    day, left = decided, 2  # review.PAYMENT_DELAY_BUSINESS_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def is_minor(birth: date, on: date) -> bool:
    passed = (on.month, on.day) >= (birth.month, birth.day)
    return on.year - birth.year - (0 if passed else 1) < 18


def reference(claim_id: int) -> str:
    # An odd multiplier is a bijection modulo 32**10 = 2**50: unique, random-looking references.
    number = (claim_id * 0x9E3779B97F4A7C15 + 0x5DEECE66D) % (1 << 50)
    chars = []
    for _ in range(10):
        number, digit = divmod(number, 32)
        chars.append(REF_ALPHABET[digit])
    return "R-" + "".join(chars)


class Dataset:
    """Yields (table, line) in an order where each row follows the rows it refers to."""

    def __init__(self, size: common.Size, seed: int, acts: list[Act], secrets: Secrets, now: datetime) -> None:
        self.size, self.seed, self.secrets = size, seed, secrets
        self.clock = Clock(now)
        self.ids = Counters()
        self.acts_by_category: dict[str, list[Act]] = {}
        self.versions: dict[str, list[Act]] = {}
        for act in sorted(acts, key=lambda a: a.effective_from):
            self.versions.setdefault(act.code, []).append(act)
        for versions in self.versions.values():
            self.acts_by_category.setdefault(versions[0].category, []).append(versions[-1])
        self.patients: list[Person] = []
        # id, code, category, digital, account, the account direct payments go to
        self.doctors: list[tuple[int, str, str, bool, int | None, str | None]] = []
        self.staff: list[tuple[int, int]] = []  # staff id, account id
        self.terms_id = 1
        self.accepted_terms_at = self.clock.now - 400 * DAY

    # --- Registry -------------------------------------------------------------------------

    def registry(self):
        clock = self.clock
        texts = self.secrets.terms
        yield "terms_version", (f"{self.terms_id}\t1\t{clock.ts(self.accepted_terms_at)}\t{_esc(texts['fr'])}\t"
                                f"{_esc(texts['de'])}\t{_esc(texts['en'])}")
        yield from self._doctors()
        yield from self._staff()
        yield from self._patients()

    def _account(self, role: str, login: str, created: int, token: str):
        account_id = self.ids.next("account")
        clock = self.clock
        # terms_accepted: the copy of the decision below that the check before every page reads.
        yield "account", f"{account_id}\t{role}\t{login}\tactive\t{N}\tf\t1\t{clock.ts(created)}"
        yield "credential", (f"{account_id}\t{self.secrets.password_hash}\t{clock.ts(created)}\t{token}\t{N}\t"
                             f"{clock.ts(created)}\t{N}\t0\t{N}")
        decided = max(created, self.accepted_terms_at)
        yield "terms_decision", f"{self.ids.next('terms_decision')}\t{account_id}\t{self.terms_id}\tt\t{clock.ts(decided)}"
        self.last_account = account_id

    def _token(self, login: str) -> str:
        return self.secrets.totp_tokens.get(login, self.secrets.other_totp_token)

    def _doctors(self):
        # Their own stream: doctor i is the same at every size.
        rng = random.Random(f"{self.seed}:doctors")
        weights = [s[2] for s in SPECIALTIES]
        created = self.clock.now - 900 * DAY
        for index in range(self.size.doctors):
            doctor_id = self.ids.next("doctor")
            is_bench = index < common.BENCH_USERS
            specialty, category, _w = SPECIALTIES[0] if is_bench else rng.choices(SPECIALTIES, weights)[0]
            digital = is_bench or rng.random() < 0.85
            code = common.doctor_login(index) if is_bench else f"90{doctor_id:06d}"
            account_id = None
            if digital:
                yield from self._account("doctor", code, created, self._token(code))
                account_id = self.last_account
            name = f"Dr {rng.choice(GIVEN)} {rng.choice(SURNAMES)}"
            # Derived from the id, not drawn: the random streams stay those of earlier datasets.
            iban = make_iban("LU", f"999{doctor_id:013d}") if digital else None
            yield "doctor", (f"{doctor_id}\t{code}\t{_esc(name)}\t{specialty}\t{_bool(digital)}\t{_opt(account_id)}\t"
                             f"{self.clock.ts(created)}\t{_opt(iban)}")
            self.doctors.append((doctor_id, code, category, digital, account_id, iban))

    def _staff(self):
        rng = random.Random(f"{self.seed}:staff")
        created = self.clock.now - 900 * DAY
        for index in range(self.size.staff):
            staff_id = self.ids.next("cns_staff")
            is_bench = index < common.BENCH_USERS
            code = common.staff_login(index) if is_bench else f"CNS{staff_id:05d}"
            scope = "CNS" if is_bench else rng.choices(*zip(*FUNDS, strict=True))[0]
            yield from self._account("cns", code, created, self._token(code))
            name = f"Agent {rng.choice(GIVEN)} {rng.choice(SURNAMES)}"
            yield "cns_staff", f"{staff_id}\t{code}\t{_esc(name)}\t{scope}\t{self.last_account}\t{self.clock.ts(created)}"
            if scope == "CNS":
                self.staff.append((staff_id, self.last_account))

    def _patients(self):
        rng = random.Random(f"{self.seed}:patients")
        clock = self.clock
        serials: dict[date, int] = {}
        registered = clock.ts(clock.now - 1000 * DAY)
        funds, fund_weights = zip(*FUNDS, strict=True)
        for index in range(self.size.persons):
            patient_id = self.ids.next("patient")
            is_bench = index < common.BENCH_USERS
            if is_bench:
                birth, serial = common.bench_patient(index)
                fund, has_account, has_iban, auto = "CNS", True, True, False
            else:
                while True:
                    age_days = int(rng.triangular(0, 95, 38) * 365.25)
                    birth = clock.today - timedelta(days=age_days)
                    serial = serials.get(birth, 0)
                    if serial < 900:  # 900+ belong to bench patients
                        break
                serials[birth] = serial + 1
                fund = rng.choices(funds, fund_weights)[0]
                has_account, has_iban, auto = rng.random() < 0.35, rng.random() < 0.95, rng.random() < 0.05
            matricule = make_matricule(birth, serial)
            account_id = None
            if has_account:
                yield from self._account("patient", matricule, clock.now - rng.randrange(30, 700) * DAY,
                                         self._token(matricule))
                account_id = self.last_account
            given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
            iban = make_iban("LU", f"{rng.randrange(1, 100):03d}{patient_id:013d}") if has_iban else None
            mobile = f"+352621{rng.randrange(1_000_000):06d}" if rng.random() < 0.8 else None
            email = f"{given.lower()}.{surname.lower()}.{patient_id}@example.lu" if rng.random() < 0.5 else None
            objects = not is_bench and rng.random() < 0.02
            yield "patient", (f"{patient_id}\t{matricule}\t{_esc(surname)}\t{_esc(given)}\t{birth.isoformat()}\t"
                              f"{_opt(mobile)}\t{_opt(email)}\t{fund}\t{_opt(iban)}\t{_opt(account_id)}\t{registered}\t"
                              f"{_bool(auto)}\t{_bool(objects)}\t{birth.isoformat()}")  # insured since birth
            self.patients.append(Person(matricule, birth, fund, iban, account_id, auto))

    # --- Invoices and everything that hangs from them ----------------------------------------

    def family(self):
        """Invoices day by day, oldest first, so ids follow time as they would in production."""
        rng = random.Random(f"{self.seed}:invoices")
        bench = self._bench_visits()
        others = self.size.invoices - sum(len(day) for day in bench.values())
        start_day = self.clock.now // DAY - HISTORY_DAYS
        # Busier weekdays; a per-patient and per-doctor activity level skews who gets invoices.
        day_weights = [1.0 if (start_day + d + 3) % 7 < 5 else 0.25 for d in range(HISTORY_DAYS + 1)]
        scale = others / sum(day_weights)
        regular = range(common.BENCH_USERS, len(self.patients))
        patient_cum = _cumulative(rng, len(regular))
        doctor_cum = _cumulative(rng, len(self.doctors))
        made, expected = 0, 0.0
        for offset, weight in enumerate(day_weights):
            day = start_day + offset
            expected += weight * scale
            count = (others if offset == HISTORY_DAYS else min(others, round(expected))) - made
            made += count
            visits = [
                (day * DAY + rng.randrange(8 * HOUR, 19 * HOUR),
                 regular[bisect_right(patient_cum, rng.random() * patient_cum[-1])],
                 bisect_right(doctor_cum, rng.random() * doctor_cum[-1]), 0.8, rng)
                for _ in range(count)
            ]
            visits.extend(bench.get(day, ()))
            visits.sort(key=lambda visit: visit[0])
            for issued, patient_index, doctor_index, share_rate, stream in visits:
                issued = min(issued, self.clock.now - 60)
                yield from self._invoice(stream, issued, patient_index, doctor_index, share_rate)

    def _bench_visits(self) -> dict[int, list]:
        """Each bench patient's invoices, with doctors among the first hundred (present at every size).
        Only 40 % are shared, so the load driver has invoices left to share."""
        visits: dict[int, list] = {}
        today = self.clock.now // DAY
        for index in range(common.BENCH_USERS):
            stream = random.Random(f"{self.seed}:bench-patient:{index}")
            for _ in range(common.INVOICES_PER_BENCH_PATIENT):
                day = today - stream.randrange(0, 700)
                doctor_index = stream.randrange(min(100, len(self.doctors)))
                visits.setdefault(day, []).append(
                    (day * DAY + stream.randrange(8 * HOUR, 19 * HOUR), index, doctor_index, 0.4, stream)
                )
        return visits

    def _invoice(self, rng: random.Random, issued: int, patient_index: int, doctor_index: int, share_rate: float):
        clock, ids = self.clock, self.ids
        person = self.patients[patient_index]
        doctor_id, provider_code, category, digital, doctor_account, doctor_iban = self.doctors[doctor_index]
        invoice_id = ids.next("invoice")
        service = clock.date_of(issued)
        paid_on_site = rng.random() < 0.85
        payer_patient = rng.random() < 0.97
        channel = channel_for(doctor_is_digital=digital, paid_on_site=paid_on_site, payer_is_patient=payer_patient)
        year = service.year
        number = ids.next(f"number:{doctor_id}:{year}")
        voided = rng.random() < 0.01
        rate = 100 if is_minor(person.birth, service) else 88
        lines = self._lines(rng, category, service)
        total, computed, line_rows = _priced(lines, rate)
        expires = add_two_years(issued)
        direct = _paid_directly(invoice_id, channel, lines, voided=voided, doctor_iban=doctor_iban)
        consent = _consent(invoice_id, minor=rate == 100, at=clock.ts(issued)) if direct else (N, N, N)
        yield "invoice", (
            f"{invoice_id}\t{year}-{number:06d}\t{doctor_id}\t{self._patient_id(patient_index)}\t{provider_code}\t"
            f"{person.matricule}\t{service.isoformat()}\t{clock.ts(issued)}\t{channel}\t{_bool(paid_on_site)}\t"
            f"{clock.ts(issued) if paid_on_site else N}\t{_bool(payer_patient)}\t{total}\t"
            f"{clock.ts(issued + 3 * HOUR) if voided else N}\t{'Wrong act code.' if voided else N}\t{clock.ts(expires)}\t{N}\t"
            f"{_bool(direct)}\t" + "\t".join(consent)
        )
        for position, act, quantity, line_total, _share in line_rows:
            yield "invoice_line", (f"{ids.next('invoice_line')}\t{invoice_id}\t{position}\t{act.id}\t{act.code}\t"
                                   f"{quantity}\t{act.fee_cents}\t{line_total}")
        patient_id = self._patient_id(patient_index)
        yield "audit_event", self._audit(issued, "invoice.issued", doctor_account, "doctor", patient_id,
                                         {"invoice_id": invoice_id, "channel": channel})
        if person.account_id is not None and rng.random() < 0.3:
            yield "audit_event", self._audit(issued + rng.randrange(HOUR, 10 * DAY), "invoice.viewed",
                                             person.account_id, "patient", patient_id, {"invoice_id": invoice_id})
        if direct:  # the doctor's claim is filed as the invoice is issued
            yield from self._claim(rng, invoice_id, f"{year}-{number:06d}", patient_index, doctor_id,
                                   channel, issued, total, computed, line_rows, provider_code,
                                   direct=(doctor_iban, doctor_account, *consent[:2]))
            return
        if voided or expires <= clock.now or person.iban is None:
            return
        shared = self._shared_at(rng, person, channel, issued, share_rate)
        if shared is not None:
            yield from self._claim(rng, invoice_id, f"{year}-{number:06d}", patient_index, doctor_id,
                                   channel, shared, total, computed, line_rows, provider_code)

    def _lines(self, rng: random.Random, category: str, service: date) -> list[tuple[Act, int]]:
        """A consultation, sometimes with one or two acts more."""
        lines = [self._consultation(rng, category, service)]
        extra = rng.random()
        for _ in range(2 if extra < 0.1 else 1 if extra < 0.35 else 0):
            lines.append(self._act(rng, "dentistry" if category == "dentistry" else "technical", service))
        return lines

    def _shared_at(self, rng: random.Random, person: Person, channel: str, issued: int,
                   share_rate: float) -> int | None:
        """When the patient shares the invoice, or the fund receives it on paper; None if not (yet)."""
        if channel == "digital" and (person.auto_share or rng.random() < share_rate):
            delay = 1 if person.auto_share else int(rng.expovariate(1 / (2 * DAY))) + 600
            return issued + delay if issued + delay < self.clock.now else None
        if channel == "paper_qr" and rng.random() < 0.5:
            received = issued + int(rng.uniform(2 * DAY, 10 * DAY))
            return received if received < self.clock.now else None
        return None

    def _patient_id(self, patient_index: int) -> int:
        return patient_index + 1

    def _act(self, rng: random.Random, category: str, service: date) -> tuple[Act, int]:
        act = rng.choice(self.acts_by_category[category])
        versions = self.versions[act.code]
        found = versions[max(0, bisect_right([v.effective_from for v in versions], service) - 1)]
        return found, 2 if category == "technical" and rng.random() < 0.1 else 1

    def _consultation(self, rng: random.Random, category: str, service: date) -> tuple[Act, int]:
        act, _quantity = self._act(rng, category, service)
        return act, 1

    def _state(self, rng: random.Random, age: int) -> str:
        r = rng.random()
        if age < 3 * DAY:
            table = (("shared", 0.70), ("in_review", 0.90), ("info_requested", 0.93), ("accepted", 0.98))
        elif age < 30 * DAY:
            table = (("shared", 0.25), ("in_review", 0.45), ("info_requested", 0.50), ("accepted", 0.92),
                     ("rejected", 0.96))
        else:
            table = (("shared", 0.01), ("in_review", 0.02), ("info_requested", 0.03), ("accepted", 0.88),
                     ("rejected", 0.95))
        for state, bound in table:
            if r < bound:
                return state
        return "withdrawn"

    def _claim(self, rng, invoice_id, invoice_number, patient_index, doctor_id, channel, shared, total, computed,
               line_rows, provider_code, direct=None):
        """`direct`, for a direct-payment claim: the doctor's bank account and account id, who agreed and how."""
        clock, ids = self.clock, self.ids
        person = self.patients[patient_index]
        patient_id = self._patient_id(patient_index)
        claim_id = ids.next("claim")
        state = self._state(rng, clock.now - shared)
        # Bench patients' claims draw from the bench agents only, so their stream is the same at every size.
        agents = len(self.staff) if patient_index >= common.BENCH_USERS else min(len(self.staff), common.BENCH_USERS)
        staff_id, staff_account = self.staff[rng.randrange(agents)]
        taken, decided, withdrawn = self._timeline(rng, state, shared)
        version = {"shared": 1, "withdrawn": 2, "in_review": 2}.get(state, 3)
        reimbursed = computed if state == "accepted" else 0 if state == "rejected" else None
        rejection = rng.choice(REJECTIONS) if state == "rejected" else None
        if direct is not None and state == "withdrawn":  # only the doctor can withdraw it, by voiding
            state, version = "shared", 1
            taken = decided = withdrawn = None
        yield "claim", (
            f"{claim_id}\t{reference(claim_id)}\t{invoice_id}\t{patient_id}\t{doctor_id}\t{person.fund}\t{channel}\t"
            f"{state}\t{version}\t{direct[0] if direct else person.iban}\t{total}\t{computed}\t{_opt(reimbursed)}\t{N}\t{_opt(rejection)}\t{N}\t"
            f"{clock.ts(shared)}\t{clock.ts(shared)}\t{clock.ts(taken)}\t{staff_id if taken else N}\t"
            f"{clock.ts(decided)}\t{staff_id if decided else N}\t{clock.ts(withdrawn)}\t{N}\t{N}\t"
            f"{_bool(direct is not None)}"
        )
        yield from self._filed(rng, claim_id, invoice_id, invoice_number, patient_index, channel, shared,
                               (staff_id, staff_account), direct)
        if withdrawn:
            yield "claim_event", self._event(claim_id, "withdrawn", withdrawn, "patient", None)
            yield "audit_event", self._audit(withdrawn, "claim.withdrawn", person.account_id, "patient", patient_id,
                                             {"claim_id": claim_id})
        if taken:
            yield "claim_event", self._event(claim_id, "taken_up", taken, "cns", staff_id)
            yield "audit_event", self._audit(taken, "claim.taken_up", staff_account, "cns", patient_id,
                                             {"claim_id": claim_id})
        yield from self._reviewed(rng, claim_id, invoice_id, patient_id, state, (taken, decided), (staff_id, staff_account),
                                  rejection, asks_patient=direct is None)
        if state == "accepted":
            yield from self._statement(claim_id, decided, total, computed, line_rows, provider_code)

    def _reviewed(self, rng, claim_id, invoice_id, patient_id, state, times, staff, rejection, *, asks_patient):
        """The agent's question and decision, with the notices and audit rows they leave."""
        (taken, decided), (staff_id, staff_account) = times, staff
        if state == "info_requested":
            asked = taken + 600
            yield "claim_event", self._event(claim_id, "info_requested", asked, "cns", staff_id, QUESTION)
            if asks_patient:  # a direct-payment question goes to the doctor, by e-mail
                yield "notification", self._notice(rng, patient_id, "info_requested", claim_id, invoice_id, asked)
            yield "audit_event", self._audit(asked, "claim.info_requested", staff_account, "cns", patient_id,
                                             {"claim_id": claim_id})
        if decided:
            yield "claim_event", self._event(claim_id, state, decided, "cns", staff_id)
            kind = "statement" if state == "accepted" else "rejected"
            yield "notification", self._notice(rng, patient_id, kind, claim_id, invoice_id, decided)
            data = {"claim_id": claim_id, "decision": state}
            data.update({"adjusted": False} if state == "accepted" else {"reason": rejection})
            yield "audit_event", self._audit(decided, "claim.decided", staff_account, "cns", patient_id, data)

    def _timeline(self, rng: random.Random, state: str, shared: int) -> tuple[int | None, int | None, int | None]:
        """When staff took the claim up, decided it, or the patient withdrew it."""
        now = self.clock.now
        room = max(now - shared - 60, 60)
        taken = decided = withdrawn = None
        if state == "withdrawn":
            withdrawn = shared + min(int(rng.uniform(HOUR, DAY)), room)
        elif state != "shared":
            taken = shared + min(int(rng.uniform(HOUR, 4 * DAY)), room // 2)
            if state in ("accepted", "rejected"):
                decided = taken + min(int(rng.uniform(600, 2 * DAY)), max((now - taken) // 2, 1))
        return taken, decided, withdrawn

    def _filed(self, rng, claim_id, invoice_id, invoice_number, patient_index, channel, shared, staff, direct=None):
        """The claim's first event: filed by the doctor (direct payment), shared by the patient
        (with its consent receipt) or received on paper."""
        clock, ids = self.clock, self.ids
        person = self.patients[patient_index]
        patient_id = self._patient_id(patient_index)
        if direct is not None:
            yield "claim_event", self._event(claim_id, "direct_submitted", shared, "doctor", None)
            yield "audit_event", self._audit(shared, "claim.direct_submitted", direct[1], "doctor", patient_id, {
                "claim_id": claim_id, "invoice_id": invoice_id, "consent_by": direct[2], "consent_method": direct[3]})
            return
        staff_id, staff_account = staff
        first = "shared" if channel == "digital" else "paper_received"
        yield "claim_event", self._event(claim_id, first, shared, "patient" if channel == "digital" else "cns",
                                         None if channel == "digital" else staff_id)
        if channel == "digital":
            method = "automatic" if person.auto_share else "manual"
            yield "consent_receipt", (f"{ids.next('consent_receipt')}\t{claim_id}\t{patient_id}\t"
                                      f"{_opt(person.account_id if method == 'manual' else None)}\t{method}\t"
                                      f"{person.fund}\t{invoice_number}\t{clock.ts(shared)}")
            yield "audit_event", self._audit(shared, "claim.shared", person.account_id, "patient", patient_id,
                                             {"claim_id": claim_id, "invoice_id": invoice_id, "method": method})
            if method == "automatic":
                yield "notification", self._notice(rng, patient_id, "auto_shared", claim_id, invoice_id, shared)
        else:
            yield "audit_event", self._audit(shared, "claim.paper_received", staff_account, "cns", patient_id,
                                             {"claim_id": claim_id, "invoice_id": invoice_id})

    def _statement(self, claim_id, decided, total, computed, line_rows, provider_code):
        clock, ids = self.clock, self.ids
        statement_id = ids.next("statement")
        day = clock.date_of(decided)
        yield "statement", (f"{statement_id}\t{claim_id}\tD{day.year}-{claim_id:08d}\t{clock.ts(decided)}\t"
                            f"{payment_date(day).isoformat()}\t{total}\t{computed}\t0")
        for position, act, quantity, line_total, share in line_rows:
            tariff = act.fee_cents * quantity
            yield "statement_line", (f"{ids.next('statement_line')}\t{statement_id}\t{position}\t{provider_code}\t"
                                     f"{act.code}\t{quantity}\t{line_total}\t{tariff}\t{tariff - share}\t{share}")

    def _event(self, claim_id, kind, at, role, staff_id, message=None) -> str:
        return (f"{self.ids.next('claim_event')}\t{claim_id}\t{kind}\t{self.clock.ts(at)}\t{role}\t{_opt(staff_id)}\t"
                f"{_esc(message) if message else N}\t{N}\t{N}")

    def _notice(self, rng, patient_id, kind, claim_id, invoice_id, at) -> str:
        age = self.clock.now - at
        read = at + int(rng.uniform(HOUR, min(5 * DAY, max(age, HOUR + 1)))) if rng.random() < (
            0.9 if age > 14 * DAY else 0.4) else None
        if read is not None and read >= self.clock.now:
            read = None
        return (f"{self.ids.next('notification')}\t{patient_id}\t{kind}\t{claim_id}\t{invoice_id}\t"
                f"{self.clock.ts(at)}\t{self.clock.ts(read)}")

    def _audit(self, at, event, actor, role, patient_id, data) -> str:
        return (f"{self.ids.next('audit_event')}\t{self.clock.ts(at)}\t{event}\t{_opt(actor)}\t"
                f"{role if actor is not None else N}\t{N}\t{patient_id}\t{json.dumps(data, separators=(',', ':'))}")


def _paid_directly(invoice_id: int, channel: str, lines: list[tuple[Act, int]], *, voided: bool,
                   doctor_iban: str | None) -> bool:
    """A quarter of the invoices that could be paid directly are: chosen by id, not drawn, so the
    random streams stay those of earlier data sets. A digital invoice is paid at the practice by
    the patient (invoices.channel_for)."""
    return (channel == "digital" and not voided and doctor_iban is not None
            and all(act.is_direct_payment_eligible for act, _q in lines) and invoice_id % 4 == 0)


def _consent(invoice_id: int, *, minor: bool, at: str) -> tuple[str, str, str]:
    """Who agreed to direct payment, how, and when."""
    return "guardian" if minor else "patient", "signed" if invoice_id % 8 == 0 else "oral", at


def _priced(lines: list[tuple[Act, int]], rate: int) -> tuple[int, int, list[tuple]]:
    """The invoice's total, the fund's share at `rate` percent, and each line with its own."""
    total = computed = 0
    line_rows = []
    for position, (act, quantity) in enumerate(lines, start=1):
        line_total = act.fee_cents * quantity
        share = (line_total * rate + 50) // 100
        total += line_total
        computed += share
        line_rows.append((position, act, quantity, line_total, share))
    return total, computed, line_rows


def _cumulative(rng: random.Random, count: int) -> list[float]:
    """Cumulative activity weights: a few people (and doctors) account for many visits."""
    total, out = 0.0, []
    for _ in range(count):
        total += rng.lognormvariate(0, 1)
        out.append(total)
    return out
