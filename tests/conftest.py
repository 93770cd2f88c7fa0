import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / 'shared' / 'data'
CAMVID = SHARED_DATA / 'camvid_240x180'

requires_camvid = pytest.mark.skipif(
    not CAMVID.is_dir(), reason=f'CamVid not found at {CAMVID}')


def pytest_configure(config):
    """Drops two costs of mmengine that no test checks, in the test
    processes only (the README-commands test runs the tools as processes of
    their own, as a user does):

    - yapf's formatting of configs: a runner formats its config for the log,
      the dump and every checkpoint's meta, up to 1.5 s a time here; the
      unformatted text is the same Python (dumps still load).
    - the full garbage collection after a dataset serialises its list, about
      0.5 s a dataset with the whole stack imported (Python's automatic
      collection still runs).

    In the whole suite on 2 cores, without and with this: the demo test
    (five runners) 17.7 s and 6.6 s, the resume test 14.3 s and 1.3 s.
    """
    import types

    import mmengine.config.config as mmengine_config
    import mmengine.dataset.base_dataset as mmengine_dataset
    mmengine_config.FormatCode = lambda text, **kwargs: (text, False)
    mmengine_dataset.gc = types.SimpleNamespace(collect=lambda *args: 0)


@pytest.fixture(autouse=True)
def _one_thread_per_worker():
    # pytest-xdist runs one worker per core: keep torch from oversubscribing.
    import torch
    torch.set_num_threads(int(os.environ.get('MMKD_TEST_THREADS', '1')))
    yield
