"""Fixtures of the shop product (see shop_models.py) for runner tests."""

from pathlib import Path

import pytest
from shop_models import shop_graph, write_models

from dataplatform.core.connectors.db import MetadataStore
from dataplatform.core.connectors.lakehouse import Lakehouse
from dataplatform.core.processing import ModelRunner


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return write_models(tmp_path / "models")


@pytest.fixture
def sqlite_store(sqlite_url: str) -> MetadataStore:
    store = MetadataStore(sqlite_url)
    store.upgrade()
    return store


@pytest.fixture
def runner(models_dir: Path, lake: Lakehouse, sqlite_store: MetadataStore) -> ModelRunner:
    return ModelRunner(shop_graph(models_dir), lake, sqlite_store)
