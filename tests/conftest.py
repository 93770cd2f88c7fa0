import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / 'shared' / 'data'
CAMVID = SHARED_DATA / 'camvid_240x180'

requires_camvid = pytest.mark.skipif(
    not CAMVID.is_dir(), reason=f'CamVid not found at {CAMVID}')


@pytest.fixture(autouse=True)
def _one_thread_per_worker():
    # pytest-xdist runs one worker per core: keep torch from oversubscribing.
    import torch
    torch.set_num_threads(int(os.environ.get('MMKD_TEST_THREADS', '1')))
    yield
