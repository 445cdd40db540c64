"""The product's check of the published audit chain against the chain a real gateway wrote
and the platform published, then against copies of it edited and cut by hand."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pyarrow as pa
import pytest

from dataplatform.platform.audit import AUDIT_TABLE, publish_audit_log, verify
from dataplatform.testing import RunningGateway, platform_settings, running_gateway


@dataclass
class Published:
    gateway: RunningGateway
    rows: int
    auditor: dict[str, str]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """Three logins (one failed) and a verification, written by the gateway and published."""
    folder = tmp_path_factory.mktemp("verify")
    settings = platform_settings(f"sqlite:///{folder / 'metadata.db'}", folder / "lake")
    with running_gateway(settings) as gateway:
        auditor = gateway.headers_for("vera", ["auditor"])
        httpx.post(f"{gateway.url}/auth/token", data={"username": "vera", "password": "wrong"})
        httpx.get(f"{gateway.url}/compliance/audit/verify", headers=gateway.admin)
        gateway.services.audit.flush()
        rows = publish_audit_log(gateway.services.store, gateway.services.lake)
        yield Published(gateway, rows, auditor)


def verify_answer(published: Published) -> dict[str, Any]:
    """The answer once the gateway reads the published table's latest version."""
    lake = published.gateway.services.lake
    url = f"{published.gateway.url}/compliance/audit/verify"
    for _ in range(100):
        answer = httpx.get(url, headers=published.auditor).json()
        if answer["version"] == lake.version(AUDIT_TABLE):
            return answer  # type: ignore[no-any-return]
    raise AssertionError(f"the gateway still reads version {answer['version']}")


def rewrite(published: Published, change: Any) -> None:
    lake = published.gateway.services.lake
    rows = lake.read(AUDIT_TABLE).sort_by("seq").to_pylist()
    lake.overwrite(AUDIT_TABLE, pa.Table.from_pylist(change(rows), lake.schema(AUDIT_TABLE)))


def test_the_chain_the_platform_wrote_verifies(published: Published) -> None:
    answer = verify_answer(published)

    assert published.rows == 4  # vera's login, her failed one, the admin's, the admin's check
    assert answer["ok"] is True, answer["message"]
    assert (answer["rows_checked"], answer["last_seq"]) == (published.rows, published.rows)
    # The platform's own verifier agrees on the same copy.
    assert verify(published.gateway.services.store, published.gateway.services.lake).ok


def test_an_edited_published_row_is_found(published: Published) -> None:
    def promote(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[2] = {**rows[2], "actor": "mallory"}
        return rows

    rewrite(published, promote)
    answer = verify_answer(published)

    assert (answer["ok"], answer["first_bad_seq"], answer["problem"]) == (False, 3, "edited")
    assert answer["rows_checked"] == 2


def test_a_deleted_published_row_is_a_gap(published: Published) -> None:
    def cut(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for row in rows if row["seq"] not in (2, 3)]

    rewrite(published, cut)
    answer = verify_answer(published)

    assert (answer["ok"], answer["first_bad_seq"], answer["problem"]) == (False, 4, "gap")
    assert "rows 2 to 3 are missing" in answer["message"]


def test_each_verification_is_audited(published: Published) -> None:
    verify_answer(published)
    published.gateway.services.audit.flush()

    found = published.gateway.services.audit_log.search(action="compliance.audit.verify").rows

    assert found and found[0].entry.actor == "vera"
    assert found[0].entry.table_name == AUDIT_TABLE
