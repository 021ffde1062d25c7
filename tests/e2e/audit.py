"""axe-core audits with a failure message a person can act on."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()


class Audit:
    """Collects the violations of several pages, so one run reports them all."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, page, label: str) -> None:
        results = _axe.run(page)
        if results.violations_count:
            self.failures.append(describe(label, page.url, results.response["violations"]))

    def assert_clean(self) -> None:
        assert not self.failures, "axe-core found accessibility violations:\n\n" + "\n\n".join(self.failures)


def describe(label: str, url: str, violations: list[dict]) -> str:
    lines = [f"{label} ({url}):"]
    for violation in violations:
        lines.append(f"  - {violation['id']} [{violation.get('impact')}]: {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"      at {', '.join(map(str, node['target']))}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"        {summary}")
    return "\n".join(lines)
