"""(being written)"""

from portal.doctor.views import bp  # noqa: F401
