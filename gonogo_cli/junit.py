"""Counting a JUnit XML report into a gate's status and a one-line summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers import expat

from gonogo_cli.errors import CliError

SUMMARY_MAX = 500


@dataclass(frozen=True)
class JunitTally:
    passed: int
    failed: int
    errors: int
    skipped: int
    failing: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def status(self) -> str:
        """Any failure or error fails the gate; nothing run (or all skipped) is skipped."""
        if self.failed or self.errors:
            return "failed"
        if self.total == 0 or self.skipped == self.total:
            return "skipped"
        return "passed"

    def summary(self) -> str:
        """`131 passed, 1 failed, 0 errors, 2 skipped`, then the first failing tests that
        fit in the 500 characters a summary may hold."""
        text = f"{self.passed} passed, {self.failed} failed, {self.errors} errors, {self.skipped} skipped"
        if not self.failing:
            return text
        names: list[str] = []
        for index, name in enumerate(self.failing):
            left = len(self.failing) - index - 1
            more = f", and {left} more" if left else ""
            candidate = f"{text}; failing: {', '.join([*names, name])}{more}"
            if len(candidate) > SUMMARY_MAX:
                break
            names.append(name)
        if not names:
            return text
        left = len(self.failing) - len(names)
        return f"{text}; failing: {', '.join(names)}" + (f", and {left} more" if left else "")


class _Declaration(Exception):
    pass


def _refuse_declarations(data: bytes, name: str) -> None:
    """Expat pass before ElementTree: a DOCTYPE or ENTITY declaration (entity expansion
    bombs, external entities) is refused before anything is expanded. Expat reads the
    file's own encoding, so a UTF-16 file cannot hide one."""

    def doctype(*_args: object) -> None:
        raise _Declaration("a DOCTYPE declaration")

    def entity(*_args: object) -> None:
        raise _Declaration("an ENTITY declaration")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except _Declaration as refused:
        raise CliError(f"{name}: refused: the file contains {refused}; JUnit XML needs none.") from None
    except expat.ExpatError as error:
        raise CliError(
            f"{name} is not well-formed XML: {expat.ErrorString(error.code)} "
            f"(line {error.lineno}, column {error.offset + 1})."
        ) from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _count(element: ElementTree.Element, attribute: str) -> int:
    try:
        return max(int(float(element.get(attribute, "0") or 0)), 0)
    except (ValueError, OverflowError):  # "", "n/a", "inf"
        return 0


def junit_tally(path: Path) -> JunitTally:
    """Count a JUnit XML report (pytest, Detox/Jest, Appium, Maven…): `<testsuites>` or a
    single `<testsuite>` root. Each `<testcase>` counts once — failed if it holds a
    `<failure>`, error if an `<error>`, skipped if a `<skipped>`. A report without test
    cases falls back to the suites' own counters."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {name}: {error.strerror or error}.") from None
    _refuse_declarations(data, name)
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 (declarations refused above)
    except ElementTree.ParseError as error:
        raise CliError(f"{name} is not well-formed XML: {error}.") from None
    if _local(root.tag) not in ("testsuites", "testsuite"):
        raise CliError(f"{name} is not a JUnit report: its root is <{_local(root.tag)}>, not <testsuites>.")

    cases = [element for element in root.iter() if _local(element.tag) == "testcase"]
    if cases:
        passed = failed = errors = skipped = 0
        failing: list[str] = []
        for case in cases:
            kinds = {_local(child.tag) for child in case}
            if "failure" in kinds:
                failed += 1
            elif "error" in kinds:
                errors += 1
            elif "skipped" in kinds:
                skipped += 1
                continue
            else:
                passed += 1
                continue
            case_name, class_name = case.get("name", "").strip(), case.get("classname", "").strip()
            failing.append(
                f"{class_name}.{case_name}" if class_name and case_name else case_name or class_name
            )
        return JunitTally(passed, failed, errors, skipped, tuple(test for test in failing if test))

    suites = [
        element
        for element in root.iter()
        if _local(element.tag) == "testsuite"
        and not any(_local(child.tag) == "testsuite" for child in element)
    ] or [root]
    tests = sum(_count(suite, "tests") for suite in suites)
    failed = sum(_count(suite, "failures") for suite in suites)
    errors = sum(_count(suite, "errors") for suite in suites)
    skipped = sum(_count(suite, "skipped") or _count(suite, "disabled") for suite in suites)
    return JunitTally(max(tests - failed - errors - skipped, 0), failed, errors, skipped)
