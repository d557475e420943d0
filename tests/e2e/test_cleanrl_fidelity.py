"""Each CleanRL family's wrapper stack, run as a user runs it: the store says what CleanRL says.

Every test runs one CleanRL-style script of tests/support/scripts (written for these tests, in
CleanRL's conventions) alone and with ``FASTLANE=1`` while a reader watches, and asserts
(``fidelity_helpers.check_fidelity``):

- the stored episodes are the script's own ``global_step=..., episodic_return=...`` lines:
  same count, same returns, same global_step, in the same order, every slot;
- the run recorded how the script counts global_step (``fastlane/global_step/<convention>``);
- frames flowed: one at the first reset, more while watched;
- stderr gained nothing but the banner.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fidelity_helpers import check_fidelity, run_family

pytestmark = pytest.mark.slow


def test_classic_control_ppo_loop(run_id: str, tmp_path: Path) -> None:
    run = run_family("cc_ppo.py", ["--num-envs=3"], tmp_path, run_id)
    check_fidelity(run, num_envs=3, convention="after_step")
