"""The portable export (rights of access and portability): everything the portal holds
about one patient, in one ZIP.

The ZIP holds data.json (collected in portal/privacy/export_data.py, schema in
docs/export-schema.md), CSV files and PDFs (portal/privacy/export_files.py) and an HL7 FHIR R5
Bundle (portal/privacy/fhir_export.py). Asking for it queues a job that builds it (the page
shows its progress); it is stored encrypted and offered for an hour through a link whose token
is kept only as a hash.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta

from sqlalchemy import update

from portal import audit
from portal.core import clock, jobs, link_tokens
from portal.documents import uploads
from portal.extensions import db
from portal.messaging import events
from portal.models import Account, DataExport, DataRequest, DataRequestKind, ExportState, Patient
from portal.privacy import export_data, export_files, fhir_export, rights

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1.0"
EXPORT_LINK_MINUTES = 60


def gather(patient: Patient, language: str) -> dict:
    """data.json: the whole of what the portal holds about `patient`."""
    data = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": export_data.iso(clock.now()),
        "language": language,
        "patient": {"matricule": patient.matricule, "name": patient.full_name},
    }
    for group, collect in export_data.GATHER.items():
        data[group] = collect(patient, language)
    return data


def build_zip(patient: Patient, language: str) -> bytes:
    data = gather(patient, language)
    files = {"data.json": json.dumps(data, ensure_ascii=False, indent=2).encode()}
    files.update(export_files.csv_files(data))
    files["fhir-bundle.json"] = json.dumps(fhir_export.bundle(data), ensure_ascii=False, indent=2).encode()
    files.update(export_files.documents(patient, export_data.patient_claims(patient), language))
    return export_files.zip_of(files, clock.now())


# --- The export's life: made on request, downloaded within the hour, then gone ---------------

def _remove(rows) -> None:
    for row in rows:
        uploads.delete(row.file_name)  # nothing to delete for one never built
        db.session.delete(row)


# Files of the exports a new one replaces: deleted once the replacement is committed.
REPLACED_FILES = "export_replaced_files"


def create(patient: Patient, *, by: Account, language: str, form_token: str | None = None) -> tuple[DataExport, str]:
    """Ask for a new export, replacing the patient's older ones; returns it with its link
    token (shown once, kept only as a hash). A job builds the ZIP (`build`) once the caller
    commits; the page shows its state until it is ready.

    The caller commits, then calls `delete_replaced`: until the commit the older export
    keeps its file (a transaction that fails keeps the older export whole)."""
    replaced = list(db.session.scalars(db.select(DataExport).where(DataExport.patient_id == patient.id)))
    now = clock.now()
    token = link_tokens.new()
    made = DataExport(
        patient_id=patient.id, token_hash=link_tokens.digest(token), state=ExportState.QUEUED,
        created_at=now, expires_at=now + timedelta(minutes=EXPORT_LINK_MINUTES),
    )
    for row in replaced:
        db.session.delete(row)
    db.session.add(made)
    db.session.add(DataRequest(
        reference=rights.new_reference(), patient_id=patient.id, kind=DataRequestKind.EXPORT, state="done",
        created_at=now, closed_at=now, form_token=form_token or None,
    ))
    db.session.flush()
    audit.record(audit.EXPORT_CREATED, actor=by, patient_id=patient.id, export_id=made.id)
    db.session.info.setdefault(REPLACED_FILES, []).extend(row.file_name for row in replaced if row.file_name)
    jobs.enqueue(build, made.id, language)
    return made, token


def reference_of(made: DataExport) -> str | None:
    """The reference of the request that asked for this export (written with it by `create`),
    which the patient can quote to the fund."""
    return db.session.scalar(db.select(DataRequest.reference).where(
        DataRequest.patient_id == made.patient_id, DataRequest.kind == DataRequestKind.EXPORT,
        DataRequest.created_at == made.created_at,
    ).order_by(DataRequest.id.desc()).limit(1))


# A job must end well within the worker's time limit (RQ's default: 180 s), whatever the number
# of documents: PDFs not stored yet are rendered for this long, kept, and the same job is queued
# again for the rest. The ZIP itself is then built from stored PDFs, which is quick.
RENDER_SECONDS = 60


def build(export_id: int, language: str, resumed: bool = False) -> None:
    """The job: build the ZIP of an export asked for, store it and offer it for the hour.

    "building" is committed first so the page can say the work has started; a failure is
    committed as "failed" so the page stops waiting and offers to ask again."""
    made = _claim(export_id, resumed)
    if made is None:
        return
    try:
        patient = db.session.get(Patient, made.patient_id)
        claims = export_data.patient_claims(patient)
        if not export_files.store_missing(patient, claims, language, seconds=RENDER_SECONDS):
            jobs.enqueue(build, export_id, language, resumed=True)
            db.session.commit()  # the PDFs rendered so far, and the next turn
            return
        content = build_zip(patient, language)
        now = clock.now()
        made.file_name = uploads.store(content)
        made.state = ExportState.READY
        made.expires_at = now + timedelta(minutes=EXPORT_LINK_MINUTES)  # the hour starts when it is ready
        # The message is written with the export's new state: both are committed, or neither.
        events.export_ready(made.patient_id)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        # The type only, like portal.core.jobs: a message could carry personal data.
        log.error("Export %s could not be built: %s", export_id, type(error).__name__)
        _mark_failed(export_id)


def _claim(export_id: int, resumed: bool) -> DataExport | None:
    """Move a queued export to "building" (or find it building, for the job's next turn), or None
    if another worker took it or it is gone."""
    expected = ExportState.BUILDING if resumed else ExportState.QUEUED
    taken = db.session.execute(
        update(DataExport).where(DataExport.id == export_id, DataExport.state == expected)
        .values(state=ExportState.BUILDING).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return db.session.get(DataExport, export_id) if taken else None


def _mark_failed(export_id: int) -> None:
    db.session.execute(
        update(DataExport).where(DataExport.id == export_id).values(state=ExportState.FAILED)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def delete_replaced() -> None:
    """After the commit of `create`: the files of the exports it replaced."""
    for name in db.session.info.pop(REPLACED_FILES, []):
        uploads.delete(name)


def find(token: str, patient: Patient) -> DataExport | None:
    """The export behind a link, if it is this patient's (expired or not)."""
    if not link_tokens.normalise(token) or len(token) > 100:
        return None
    return db.session.scalar(
        db.select(DataExport).where(DataExport.token_hash == link_tokens.digest(token), DataExport.patient_id == patient.id)
    )


def is_live(made: DataExport) -> bool:
    return made.expires_at > clock.now()


def live_for(patient: Patient) -> DataExport | None:
    return db.session.scalar(db.select(DataExport).where(DataExport.id == live_id(patient.id)))


def live_id(patient_id):
    """The id of the patient's live export (the newest not expired), as a column: "Manage my
    personal data" reads the export with its counts (data_access.overview)."""
    return (
        db.select(DataExport.id).where(DataExport.patient_id == patient_id, DataExport.expires_at > clock.now())
        .order_by(DataExport.created_at.desc()).limit(1).scalar_subquery()
        .correlate(None)  # compared with data_export.id: that table outside is not this one
    )


def matches(made: DataExport, token: str | None) -> bool:
    return bool(token) and secrets.compare_digest(made.token_hash, link_tokens.digest(token))


def is_ready(made: DataExport) -> bool:
    return made.state == ExportState.READY and made.file_name is not None


def ready_since(made: DataExport) -> timedelta:
    """How long a ready export has been ready: its hour starts when it is built."""
    return clock.now() - (made.expires_at - timedelta(minutes=EXPORT_LINK_MINUTES))


def download(made: DataExport, *, by: Account) -> bytes | None:
    """The ZIP's bytes, noted as downloaded; None if it is not built or its file is gone.
    The caller commits."""
    if not is_ready(made):
        return None
    try:
        content = uploads.load(made.file_name)
    except (FileNotFoundError, ValueError):
        return None
    made.downloaded_at = clock.now()
    audit.record(audit.EXPORT_DOWNLOADED, actor=by, patient_id=made.patient_id, export_id=made.id)
    return content


def purge_expired() -> int:
    """Delete exports whose link has expired, with their files; for the retention command."""
    expired = db.session.scalars(db.select(DataExport).where(DataExport.expires_at <= clock.now())).all()
    _remove(expired)
    return len(expired)
