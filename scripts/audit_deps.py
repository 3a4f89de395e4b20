"""Dependency audit for CI: `pip-audit` against the PyPI vulnerability service.

Fails (exit 1) on any known vulnerability. When the service cannot be reached or knows none of the packages
(an offline mirror answers "not found" for every one), it says so on stderr and passes: an unreachable service
must not break CI, but a found vulnerability always does.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "-s", "pypi", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"audit: the vulnerability service could not be reached ({tail}); not audited", file=sys.stderr)
        return 0
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    for dep in vulnerable:
        ids = ", ".join(v["id"] for v in dep["vulns"])
        print(f"audit: {dep['name']} {dep.get('version')} has known vulnerabilities: {ids}", file=sys.stderr)
    audited = len(deps) - len(skipped)
    print(
        f"audit: {len(deps)} packages, {audited} audited, {len(skipped)} unknown to the service, "
        f"{len(vulnerable)} vulnerable",
        file=sys.stderr,
    )
    if deps and not audited:
        print("audit: the service knows none of the packages (offline mirror?); not audited", file=sys.stderr)
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
