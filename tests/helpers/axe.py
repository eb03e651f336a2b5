"""axe-core, the accessibility engine browsers' own audits use, run inside a real Chromium page.

`make test` installs it from npm (package.json pins the version). A page is audited against WCAG 2.1 A
and AA; what fails the tests is a violation axe rates serious or critical (missing labels, text a low-vision
reader cannot tell from its background, controls a screen reader cannot name, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
HAVE_AXE = AXE_JS.exists()
NO_AXE = f"{AXE_JS} is missing: `make test` installs it (npm ci)"

_RUN_JS = """
async () => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").slice(0, 2).join(" ")),
  }));
}
"""


async def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical findings on the page as it is now (the page's context must bypass CSP:
    axe is injected as a script the page's own policy would refuse)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE_JS))
    found = await page.evaluate(_RUN_JS)
    return [v for v in found if v["impact"] in ("serious", "critical")]


async def assert_accessible(page: Any) -> None:
    problems = await serious_violations(page)
    assert problems == [], f"axe on {page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}: {v['help']}) at {v['nodes']}" for v in problems
    )
