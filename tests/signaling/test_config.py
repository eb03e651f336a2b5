import os

import pytest

from signaling.config import ConfigError, ensure_secret, load_config


def test_unknown_keys_in_the_file_are_rejected(tmp_path):
    f = tmp_path / "v.toml"
    f.write_text('port = 9000\nprot = 1\n')
    with pytest.raises(ConfigError, match="prot"):
        load_config(f)


def test_flags_override_file_and_environment(tmp_path, monkeypatch):
    f = tmp_path / "v.toml"
    f.write_text("port = 9000\n")
    monkeypatch.setenv("VAIDYA_PORT", "9100")
    assert load_config(f).port == 9100
    assert load_config(f, {"port": 9200}).port == 9200


def test_secret_is_generated_once_and_private(tmp_path):
    config = load_config(None, {"data_dir": tmp_path})
    first = ensure_secret(config)
    again = ensure_secret(load_config(None, {"data_dir": tmp_path}))
    assert first == again and len(first) >= 32
    assert oct(os.stat(tmp_path / "secret.key").st_mode & 0o777) == "0o600"


def test_short_secret_is_rejected(monkeypatch):
    monkeypatch.setenv("VAIDYA_SECRET", "short")
    with pytest.raises(ConfigError):
        load_config(None)
