"""Build ``static/vendor/dsfr-chart/`` from the npm package ``@gouvfr/dsfr-chart``.

The design system's charts (web components written in Vue) are served from our own
origin, never from a CDN, and must run under the site's Content-Security-Policy
(``script-src 'self' 'nonce-…'``, ``style-src 'self'``: no eval, no inline style). The
package's all-in-one ES module needs no eval (its templates are compiled), but two things
in it do not fit, and this script rewrites them, failing loudly if the package changed:

1. Vite's library build replaced ``process.env`` by empty objects, so Vue runs in its
   development mode (warnings in the console, slower): each of those objects gets
   ``NODE_ENV: "production"``.
2. The tooltips of the charts write ``<span class="tooltip_dot" style="…">`` through
   ``innerHTML``: an inline style attribute, refused by ``style-src 'self'`` (a CSP
   violation on every hover). The colour goes to a ``data-color`` attribute instead, and
   a few lines appended to the module copy it to the element's style through the CSSOM,
   which the policy allows.

The output is committed (like ``fixtures/geography.json.gz``) and deterministic: the
same package version gives the same bytes.

Usage, from the project root, after ``make node``:

    python scripts/build_dsfr_chart.py [--package-dir node_modules/@gouvfr/dsfr-chart]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_VERSION = "2.0.4"
DEFAULT_PACKAGE = ROOT / "node_modules" / "@gouvfr" / "dsfr-chart"
DEFAULT_OUTPUT = ROOT / "static" / "vendor" / "dsfr-chart"
BUNDLE = "DSFRChart"

TOOLTIP_DOT = re.compile(
    r'<span class="tooltip_dot" style="background-color:\$\{(?P<colour>[^}]+)\};"></span>'
)
ENV_SHIM = re.compile(r"^var (?P<name>[A-Za-z_$][\w$]*) = \{\};$", re.MULTILINE)
ENV_USE = re.compile(r"(?<![\w$.])(?P<name>[A-Za-z_$][\w$]*)\.NODE_ENV\b")

CSSOM_COLOURS = """
// --- Added by scripts/build_dsfr_chart.py (Mes ADS) ------------------------------------
// The tooltips' colour dots carry their colour in data-color (an inline style attribute
// would be refused by the Content-Security-Policy): apply it through the CSSOM.
new MutationObserver(() => {
  for (const dot of document.querySelectorAll(".tooltip_dot[data-color]")) {
    dot.style.backgroundColor = dot.dataset.color;
    dot.removeAttribute("data-color");
  }
}).observe(document.documentElement, { childList: true, subtree: true });
"""


def build_module(source: str) -> str:
    used = set(ENV_USE.findall(source))
    shims = {match.group("name") for match in ENV_SHIM.finditer(source)} & used
    if not used or shims != used:
        raise SystemExit(
            f"Unexpected process.env shims: used {sorted(used)}, declared {sorted(shims)}; "
            "has the package changed?"
        )
    source = ENV_SHIM.sub(
        lambda m: (
            f'var {m.group("name")} = {{ NODE_ENV: "production" }};'
            if m.group("name") in shims
            else m.group(0)
        ),
        source,
    )
    source, dots = TOOLTIP_DOT.subn(
        lambda m: f'<span class="tooltip_dot" data-color="${{{m.group("colour")}}}"></span>',
        source,
    )
    if not dots:
        raise SystemExit("No tooltip colour dot found: has the package changed?")
    if re.search(r"""style=["']""", source):
        raise SystemExit("An inline style attribute is left in the module: see its source.")
    return source + CSSOM_COLOURS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", type=Path, default=DEFAULT_PACKAGE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    package = json.loads((args.package_dir / "package.json").read_text(encoding="utf-8"))
    if package["version"] != PACKAGE_VERSION:
        sys.exit(f"Expected @gouvfr/dsfr-chart {PACKAGE_VERSION}, found {package['version']}.")
    dist = args.package_dir / "dist" / BUNDLE
    args.output.mkdir(parents=True, exist_ok=True)
    module = build_module((dist / f"{BUNDLE}.js").read_text(encoding="utf-8"))
    (args.output / f"{BUNDLE}.js").write_text(module, encoding="utf-8")
    css = (dist / f"{BUNDLE}.css").read_text(encoding="utf-8")
    (args.output / f"{BUNDLE}.css").write_text(css, encoding="utf-8")
    (args.output / "LICENSE").write_text(
        (args.package_dir / "LICENSE").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (args.output / "VERSION").write_text(
        f"@gouvfr/dsfr-chart {PACKAGE_VERSION}, built by scripts/build_dsfr_chart.py\n",
        encoding="utf-8",
    )
    print(f"Wrote {args.output.relative_to(ROOT)}: {BUNDLE}.js, {BUNDLE}.css")


if __name__ == "__main__":
    main()
