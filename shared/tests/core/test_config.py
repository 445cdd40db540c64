from pathlib import Path

import pytest
from pydantic import Field

from dataplatform.core.config import (
    PlatformSettings,
    ProductSettings,
    current_environment,
    load_settings,
    redacted,
)
from dataplatform.core.errors import ConfigError

PREFIX = "DATAPLATFORM_EXAMPLE_"


class ExampleSettings(ProductSettings):
    from_default: int = 1
    from_file: int = 1
    from_env_file: int = 1
    from_variable: int = 1
    window_days: int = Field(7, gt=0)


@pytest.fixture
def layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    config_file = tmp_path / "product_config.yaml"
    config_file.write_text("from_file: 2\nfrom_env_file: 2\nfrom_variable: 2\n")
    env_file = tmp_path / "dev.env"
    env_file.write_text(f"{PREFIX}FROM_ENV_FILE=3\n{PREFIX}FROM_VARIABLE=3\n")
    monkeypatch.setenv(f"{PREFIX}FROM_VARIABLE", "4")
    return config_file, env_file


def load(config_file: Path, env_file: Path) -> ExampleSettings:
    return load_settings(
        ExampleSettings, config_file=config_file, env_file=env_file, env_prefix=PREFIX
    )


def test_each_layer_overrides_the_one_below(layers: tuple[Path, Path]) -> None:
    settings = load(*layers)

    assert (settings.from_default, settings.from_file) == (1, 2)
    assert (settings.from_env_file, settings.from_variable) == (3, 4)


def test_bad_variable_names_key_value_origin_and_reason(
    layers: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{PREFIX}WINDOW_DAYS", "seven")

    with pytest.raises(ConfigError) as error:
        load(*layers)

    message = str(error.value)
    assert "`window_days` = 'seven'" in message
    assert f"environment variable {PREFIX}WINDOW_DAYS" in message
    assert "valid integer" in message


def test_bad_file_value_names_the_file(layers: tuple[Path, Path]) -> None:
    config_file, env_file = layers
    config_file.write_text("window_days: -1\n")

    with pytest.raises(ConfigError) as error:
        load(config_file, env_file)

    assert "`window_days` = -1" in str(error.value)
    assert str(config_file) in str(error.value)
    assert "greater than 0" in str(error.value)


def test_bad_env_file_value_names_the_env_file(layers: tuple[Path, Path]) -> None:
    config_file, env_file = layers
    env_file.write_text(f"{PREFIX}SLOS=not-json\n")

    with pytest.raises(ConfigError) as error:
        load(config_file, env_file)

    assert f"{PREFIX}SLOS in {env_file}" in str(error.value)


def test_misspelt_file_key_suggests_the_right_one(layers: tuple[Path, Path]) -> None:
    config_file, env_file = layers
    config_file.write_text("windw_days: 3\n")

    with pytest.raises(
        ConfigError, match=r"unknown key `windw_days`\. Did you mean `window_days`\?"
    ):
        load(config_file, env_file)


def test_slo_targets_are_validated(layers: tuple[Path, Path]) -> None:
    config_file, env_file = layers
    config_file.write_text(
        "slos:\n  - {name: fresh, indicator: freshness_seconds, threshold: 60, target: 1.5, description: x}\n"
    )

    with pytest.raises(ConfigError, match=r"`slos.0.target` = 1.5"):
        load(config_file, env_file)


def test_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_ENVIRONMENT", "production")

    with pytest.raises(ConfigError, match="`DATAPLATFORM_ENVIRONMENT` is 'production'"):
        current_environment()


@pytest.mark.parametrize(("value", "bound"), [("250000", 250_000), ("none", None), ("None", None)])
def test_a_models_run_is_bounded_by_a_row_count_or_by_nothing_in_words(
    monkeypatch: pytest.MonkeyPatch, value: str, bound: int | None
) -> None:
    monkeypatch.setenv("DATAPLATFORM_MODELS__MAX_ROWS_PER_RUN", value)

    assert load_settings(PlatformSettings).models.max_rows_per_run == bound


def test_a_bound_of_no_rows_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_MODELS__MAX_ROWS_PER_RUN", "0")

    with pytest.raises(
        ConfigError,
        match=r"`models.max_rows_per_run` = '0' from environment variable .*greater than 0",
    ):
        load_settings(PlatformSettings)


def test_redacted_hides_passwords_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DATAPLATFORM_DATABASE_URL", "postgresql+psycopg://app:hunter2@db.internal:5432/meta"
    )
    monkeypatch.setenv(
        "DATAPLATFORM_STORAGE_OPTIONS",
        '{"AWS_SECRET_ACCESS_KEY": "abc123", "AWS_REGION": "eu-west-1"}',
    )

    shown = redacted(load_settings(PlatformSettings))

    assert shown["database_url"] == "postgresql+psycopg://app:***@db.internal:5432/meta"
    assert shown["storage_options"] == {"AWS_SECRET_ACCESS_KEY": "***", "AWS_REGION": "eu-west-1"}
    assert "hunter2" not in str(shown) and "abc123" not in str(shown)


def test_stored_values_sit_above_both_files_and_below_variables(
    layers: tuple[Path, Path],
) -> None:
    config_file, env_file = layers

    settings = load_settings(
        ExampleSettings,
        config_file=config_file,
        env_file=env_file,
        env_prefix=PREFIX,
        stored={"from_file": 5, "from_env_file": 5, "from_variable": 5},
    )

    assert (settings.from_file, settings.from_env_file, settings.from_variable) == (5, 5, 4)


def test_a_bad_stored_value_names_the_stored_configuration(layers: tuple[Path, Path]) -> None:
    config_file, _env_file = layers

    with pytest.raises(ConfigError) as error:
        load_settings(
            ExampleSettings, config_file=config_file, env_prefix=PREFIX, stored={"window_days": 0}
        )

    assert "`window_days` = 0 from the configuration stored through the admin API" in str(
        error.value
    )


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("changeme", "is a placeholder"),
        ("<your secret here, 32 characters or more>", "is a placeholder"),
        ("short-but-real-7f3a", "at least 32 characters"),
    ],
)
def test_weak_signing_secrets_are_refused(
    monkeypatch: pytest.MonkeyPatch, secret: str, reason: str
) -> None:
    monkeypatch.setenv("DATAPLATFORM_AUTH__JWT_SECRET", secret)

    with pytest.raises(ConfigError) as error:
        load_settings(PlatformSettings)

    assert "`auth.jwt_secret`" in str(error.value) and reason in str(error.value)
    assert secret not in str(error.value).replace("'**********'", "")


def test_a_longer_hash_needs_a_longer_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_AUTH__JWT_SECRET", "k" * 40)
    monkeypatch.setenv("DATAPLATFORM_AUTH__JWT_ALGORITHM", "HS512")

    with pytest.raises(ConfigError, match="64\\+ characters for HS512"):
        load_settings(PlatformSettings)


def test_outside_dev_the_signing_secret_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLATFORM_ENVIRONMENT", "prod")

    with pytest.raises(ConfigError, match=r"auth\.jwt_secret is required in prod"):
        load_settings(PlatformSettings)
