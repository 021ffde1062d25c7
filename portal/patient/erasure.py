"""(being written)"""

from portal.patient.views import bp  # noqa: F401
