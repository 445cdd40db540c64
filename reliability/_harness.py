"""What the reliability parts share: real platform processes on loopback, memory readings, and the
report written into docs/RELIABILITY.md."""

import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.platform.sources import SourceRegistry

CLI = str(Path(sys.executable).with_name("dataplatform"))
TITLE = "# Reliability\n\nFigures written by `make reliability`; each section says its command, machine, date and sizes.\n"


@dataclass
class Platform:
    """The environment of a platform in one folder, and the write keys of its two sources."""

    env: dict[str, str]
    ios_key: str
    web_key: str
    lake_root: Path


def new_platform(folder: Path, **settings: str) -> Platform:
    """A migrated SQLite store with an iOS and a web source, the lake beside it."""
    database_url = f"sqlite:///{folder / 'metadata.db'}"
    store = MetadataStore(database_url)
    store.upgrade()
    sources = SourceRegistry(store)
    _, ios_key = sources.create("ios-app", "ios", "mobile-user-analytics")
    _, web_key = sources.create("website", "web", "web-user-analytics")
    store.dispose()
    env = {
        **os.environ,
        "DATAPLATFORM_LAKE_ROOT": str(folder / "lake"),
        "DATAPLATFORM_DATABASE_URL": database_url,
        **{f"DATAPLATFORM_{name.upper()}": value for name, value in settings.items()},
    }
    return Platform(env, ios_key, web_key, folder / "lake")


def rss_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"/proc/{pid}/status has no VmRSS line")


def machine() -> str:
    """Cores, CPU model, memory, Python and kernel of this machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    memory_gib = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return (
        f"{os.cpu_count()} cores ({cpu or platform.processor()}), {memory_gib:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


@dataclass
class Report:
    """The sections the parts measured in this session, by title, in the order they ran."""

    sections: dict[str, str] = field(default_factory=dict)

    def add(self, title: str, body: str) -> None:
        self.sections[title] = body.strip()

    def write(self, path: Path, args: tuple[str, ...]) -> None:
        """Replace this session's sections of `path`, keeping the others (the soak's)."""
        stamp = (
            f"Command: `.venv/bin/pytest {' '.join(args)}`  \n"
            f"Machine: {machine()}  \nDate: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        )
        for title, body in self.sections.items():
            write_section(path, title, stamp + body)


REPORT = Report()


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or add) the `## {title}` section of the Markdown file at `path`."""
    section = f"## {title}\n\n{body.strip()}\n"
    text = path.read_text() if path.exists() else TITLE
    start = text.find(f"\n## {title}\n")
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[: start + 1] + section + (text[end:] if end != -1 else "")
    path.write_text(text)
