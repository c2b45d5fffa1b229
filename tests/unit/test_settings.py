"""Settings: DESKHAND_HOME relocates everything; the config file is validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import SettingsError, load_settings


def test_deskhand_home_relocates_everything(tmp_path: Path) -> None:
    s = load_settings({"DESKHAND_HOME": str(tmp_path)})
    for p in (
        s.config_dir,
        s.data_dir,
        s.cache_dir,
        s.journal_path,
        s.default_workspace,
        s.undo_dir,
    ):
        assert p.is_relative_to(tmp_path)
    assert s.model.default == "embedded" and s.model.fallback is None


def test_platform_dirs_without_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    s = load_settings({})
    assert s.data_dir == tmp_path / "xdg" / "deskhand"
    assert s.default_workspace != Path.home()


def test_config_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        '[model]\ndefault = "lab"\nfallback = "lab"\n'
        '[[model.remotes]]\nname = "lab"\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "m"\nkey_name = "lab"\n'
        '[[permissions]]\ncapability = "fs.write"\ndecision = "allow"\n'
    )
    s = load_settings({"DESKHAND_HOME": str(tmp_path)})
    assert s.model.remotes[0].name == "lab" and s.permissions[0].decision == "allow"


@pytest.mark.parametrize(
    "text, where",
    [
        ("[model\n", "config.toml"),
        ("[model]\nn_ctx = 'x'\n", "model.n_ctx"),
        ("[model]\nbogus = 1\n", "model.bogus"),
        ("max_steps = 0\n", "max_steps"),
    ],
)
def test_bad_config_is_a_settings_error_naming_the_field(
    tmp_path: Path, text: str, where: str
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(text)
    with pytest.raises(SettingsError, match=where.replace(".", r"\.")):
        load_settings({"DESKHAND_HOME": str(tmp_path)})
