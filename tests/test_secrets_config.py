"""Secrets come from the environment or from files (a secrets folder, as Docker and Kubernetes mount them), and
never show in a printed or logged Settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SHOW = (
    "import json; from assistant.config import Settings; s = Settings(); "
    "print(json.dumps({'keys': s.api_keys, 'tokens': s.reviewer_tokens, 'enc': s.encryption_keys, 'repr': repr(s)}))"
)


def test_secrets_from_files_and_out_of_repr(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "commerce_assistant_api_keys").write_text("key-from-file-1,key-from-file-2\n")
    (secrets / "commerce_assistant_reviewer_tokens").write_text("token-from-file\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_ASSISTANT_")}
    env.update(COMMERCE_ASSISTANT_SECRETS_DIR=str(secrets), COMMERCE_ASSISTANT_ENCRYPTION_KEYS="enc-from-env")
    out = subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["keys"] == ["key-from-file-1", "key-from-file-2"]
    assert shown["tokens"] == ["token-from-file"]
    assert shown["enc"] == ["enc-from-env"]
    for secret in ("key-from-file", "token-from-file", "enc-from-env"):
        assert secret not in shown["repr"]
