"""(being written)"""

from portal.cns.views import bp  # noqa: F401
