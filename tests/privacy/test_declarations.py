"""Every table says whether it holds a patient's data, how it is exported and what erasure does."""

from portal.extensions import db
from portal.privacy import personal_data


def test_every_table_has_a_decision(app_ctx):
    missing = personal_data.undeclared(table.name for table in db.metadata.sorted_tables)
    assert missing == [], f"declare these tables in portal/privacy/personal_data.py: {missing}"


def test_every_export_group_is_shown():
    groups = {decision.export_group for decision in personal_data.TABLES.values()} - {None}
    assert groups <= set(personal_data.GROUPS)
