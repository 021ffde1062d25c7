"""The export's HL7 FHIR R5 Bundle (type "collection"), built from data.json as plain dicts.

No runtime dependency on a FHIR library: the tests validate the result with
`fhir.resources` (whose default models are R5). Resources point at each other by
`urn:uuid:` full URLs, as a collection with no server behind it must.

R5 renamed Coverage.payor: the fund is the Coverage's `insurer` (an Organization).
"""

from __future__ import annotations

import uuid

# Identifier systems of the portal; no public system exists for these Luxembourg codes.
MATRICULE = "urn:lu:cns:matricule"
PROVIDER_CODE = "urn:lu:cns:provider-code"
FUND = "urn:lu:cns:fund"
ACT_CODE = "urn:lu:cns:nomenclature"
CLAIM_REFERENCE = "urn:lu:portal:claim"
STAFF_REFERENCE = "urn:lu:cns:staff"
PORTAL_EVENT = "urn:lu:portal:audit-event"
INVOICE_NUMBER = "urn:lu:cns:invoice"  # unique with the provider code, see the invoice's identifier

FUND_NAMES = {
    "CNS": "Caisse nationale de santé",
    "CMFEP": "Caisse de maladie des fonctionnaires et employés publics",
    "CMFEC": "Caisse de maladie des fonctionnaires et employés communaux",
    "EMCFL": "Entraide médicale de la société nationale des chemins de fer luxembourgeois",
}
CLAIM_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]}
NORMAL_PRIORITY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]}
PROVIDER_PAYEE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/payeetype", "code": "provider"}]}


def _money(cents: int | None) -> dict:
    return {"value": (cents or 0) / 100, "currency": "EUR"}


def _date_of(moment: str | None) -> str | None:
    return moment[:10] if moment else None


class _Builder:
    def __init__(self):
        self.entries: list[dict] = []
        self.urls: dict[tuple, str] = {}

    def add(self, key: tuple, resource: dict) -> str:
        url = f"urn:uuid:{uuid.uuid4()}"
        self.urls[key] = url
        self.entries.append({"fullUrl": url, "resource": resource})
        return url

    def ref(self, key: tuple, display: str | None = None) -> dict:
        reference = {"reference": self.urls[key]}
        if display:
            reference["display"] = display
        return reference


def _patient(data: dict) -> dict:
    identity = data["identity"]
    contact = identity["contact"]
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": MATRICULE, "value": identity["matricule"]}],
        "name": [{"family": identity["surname"], "given": [identity["given_name"]],
                  "text": f"{identity['given_name']} {identity['surname']}"}],
        "birthDate": identity["birth_date"],
    }
    telecom = [{"system": "phone", "value": contact["mobile"], "use": "mobile"}] if contact["mobile"] else []
    if contact["email"]:
        telecom.append({"system": "email", "value": contact["email"]})
    if telecom:
        resource["telecom"] = telecom
    if contact["language"]:
        resource["communication"] = [{
            "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": contact["language"]}]}, "preferred": True,
        }]
    return resource


def _practitioner(doctor: dict) -> dict:
    resource = {
        "resourceType": "Practitioner",
        "identifier": [{"system": PROVIDER_CODE, "value": doctor["provider_code"]}],
        "name": [{"text": doctor["name"]}],
    }
    if doctor.get("specialty"):
        resource["qualification"] = [{"code": {"text": doctor["specialty"]}}]
    return resource


def _act(line: dict) -> dict:
    coding = {"system": ACT_CODE, "code": line["act_code"]}
    if line.get("description"):
        coding["display"] = line["description"]
    return {"coding": [coding]}


def _invoice(row: dict, build: _Builder) -> dict:
    code = row["doctor"]["provider_code"]
    resource = {
        "resourceType": "Invoice",
        "identifier": [{"system": f"{INVOICE_NUMBER}:{code}", "value": row["number"]}],
        "status": "cancelled" if row["voided_at"] else "issued",
        "subject": build.ref(("patient",)),
        "date": row["issued_at"],
        "participant": [{"role": {"text": "issuer"}, "actor": build.ref(("doctor", code), row["doctor"]["name"])}],
        "lineItem": [
            {
                "sequence": line["position"],
                "servicedDate": row["service_date"],
                "chargeItemCodeableConcept": _act(line),
                "priceComponent": [{"type": "base", "factor": line["quantity"], "amount": _money(line["total_cents"])}],
            }
            for line in row["lines"]
        ],
        "totalNet": _money(row["total_cents"]),
        "totalGross": _money(row["total_cents"]),
    }
    if row["void_reason"]:
        resource["cancelledReason"] = row["void_reason"]
    return resource


def _claim(row: dict, invoice: dict | None, build: _Builder) -> dict:
    code = row["doctor"]["provider_code"]
    resource = {
        "resourceType": "Claim",
        "identifier": [{"system": CLAIM_REFERENCE, "value": row["reference"]}],
        "status": "cancelled" if row["state"] == "withdrawn" else "active",
        "type": CLAIM_TYPE,
        "use": "claim",
        "patient": build.ref(("patient",)),
        "created": row["shared_at"],
        "insurer": build.ref(("fund", row["fund"])),
        "provider": build.ref(("doctor", code), row["doctor"]["name"]),
        "priority": NORMAL_PRIORITY,
        "insurance": [{"sequence": 1, "focal": True, "coverage": build.ref(("coverage",))}],
        "total": _money(row["total_cents"]),
    }
    if row.get("direct_payment"):  # the fund pays the doctor (direct immediate payment)
        resource["payee"] = {"type": PROVIDER_PAYEE}
    if invoice is not None:
        resource["item"] = [
            {
                "sequence": line["position"], "productOrService": _act(line), "servicedDate": invoice["service_date"],
                "quantity": {"value": line["quantity"]}, "unitPrice": _money(line["unit_fee_cents"]),
                "net": _money(line["total_cents"]),
            }
            for line in invoice["lines"]
        ]
    return resource


def _claim_response(row: dict, build: _Builder) -> dict:
    accepted = row["state"] == "accepted"
    resource = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": CLAIM_TYPE,
        "use": "claim",
        "patient": build.ref(("patient",)),
        "created": row["decided_at"],
        "insurer": build.ref(("fund", row["fund"])),
        "request": build.ref(("claim", row["reference"])),
        "outcome": "complete",
        "disposition": "accepted" if accepted else f"rejected: {row['rejection_reason']}",
        "total": [{
            "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "benefit"}]},
            "amount": _money(row["reimbursed_cents"]),
        }],
    }
    statement = row["statement"]
    if accepted and statement:
        resource["payment"] = {
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype", "code": "complete"}]},
            "date": statement["payment_date"],
            "amount": _money(statement["reimbursed_cents"]),
            "identifier": {"value": statement["number"]},
        }
    return resource


def _consent(row: dict, fund: str, build: _Builder) -> dict:
    resource = {
        "resourceType": "Consent",
        "status": "active",
        "category": [{"text": "Sharing an invoice with the health fund for reimbursement"}],
        "subject": build.ref(("patient",)),
        "date": _date_of(row["given_at"]),
        "grantor": [build.ref(("patient",))],
        "grantee": [build.ref(("fund", row["recipient_fund"] or fund))],
        "decision": "permit",
    }
    if ("claim", row["claim_reference"]) in build.urls:
        resource["provision"] = [{"data": [{"meaning": "instance", "reference": build.ref(("claim", row["claim_reference"]))}]}]
    return resource


def _agent_who(actor: dict, build: _Builder) -> dict:
    kind = actor["kind"]
    if kind == "self":
        return build.ref(("patient",))
    if kind == "doctor" and ("doctor", actor["provider_code"]) in build.urls:
        return build.ref(("doctor", actor["provider_code"]), actor["name"])
    if kind == "staff":
        return {"identifier": {"system": STAFF_REFERENCE, "value": actor["staff_reference"]}, "display": "CNS staff"}
    return {"display": actor.get("name") or kind}


def _audit_event(row: dict, build: _Builder) -> dict:
    actor = row["actor"]
    return {
        "resourceType": "AuditEvent",
        "code": {"coding": [{"system": PORTAL_EVENT, "code": row["event"]}]},
        "action": "R" if row["event"].endswith("viewed") else "E",
        "recorded": row["at"],
        "patient": build.ref(("patient",)),
        "agent": [{
            "type": {"text": actor["role"] or "system"},
            "who": _agent_who(actor, build),
            "requestor": actor["kind"] != "system",
        }],
        "source": {"observer": {"display": "Accelerated reimbursement portal"}},
    }


def bundle(data: dict) -> dict:
    build = _Builder()
    fund = data["identity"]["fund"]
    build.add(("patient",), _patient(data))
    funds = {fund} | {row["fund"] for row in data["claims"]} | {row["recipient_fund"] for row in data["consents"]}
    for code in sorted(funds):
        build.add(("fund", code), {
            "resourceType": "Organization", "identifier": [{"system": FUND, "value": code}],
            "name": FUND_NAMES.get(code, code),
        })
    build.add(("coverage",), {
        "resourceType": "Coverage", "status": "active", "kind": "insurance",
        "subscriberId": [{"system": MATRICULE, "value": data["identity"]["matricule"]}],
        "beneficiary": build.ref(("patient",)), "insurer": build.ref(("fund", fund)),
    })
    doctors = {}
    for row in data["invoices"] + data["claims"]:
        doctors.setdefault(row["doctor"]["provider_code"], row["doctor"])
    for row in data["access_log"]:
        if row["actor"]["kind"] == "doctor":
            doctors.setdefault(row["actor"]["provider_code"], row["actor"])
    for code, doctor in doctors.items():
        build.add(("doctor", code), _practitioner(doctor))
    invoices = {}
    for row in data["invoices"]:
        invoices[(row["doctor"]["provider_code"], row["number"])] = row
        build.add(("invoice", row["doctor"]["provider_code"], row["number"]), _invoice(row, build))
    for row in data["claims"]:
        invoice = invoices.get((row["doctor"]["provider_code"], row["invoice_number"]))
        build.add(("claim", row["reference"]), _claim(row, invoice, build))
    for row in data["claims"]:
        if row["decided_at"] and row["state"] in ("accepted", "rejected"):
            build.add(("response", row["reference"]), _claim_response(row, build))
    for index, row in enumerate(data["consents"]):
        build.add(("consent", index), _consent(row, fund, build))
    for index, row in enumerate(data["access_log"]):
        build.add(("audit", index), _audit_event(row, build))
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": data["generated_at"],
        "entry": build.entries,
    }
