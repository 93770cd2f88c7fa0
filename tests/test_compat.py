import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmkd  # noqa: F401  (applies the fix)


def test_runner_checkpoint_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('test_compat')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    ckpt = dict(
        meta=dict(seed=np.int64(3), iter=np.array([1, 2])),
        message_hub=hub.state_dict(),
        state_dict=dict(w=torch.ones(2)))
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path)  # torch's default: weights_only=True
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    assert loaded['meta']['seed'] == 3


class NotAllowed:
    pass


def test_other_objects_are_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(x=NotAllowed()), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_getattr_is_allowed_for_history_buffer_only():
    from mmkd.compat import _history_buffer_getattr
    assert _history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='only for HistoryBuffer'):
        _history_buffer_getattr(torch, 'load')
    with pytest.raises(pickle.UnpicklingError, match='only for HistoryBuffer'):
        _history_buffer_getattr(HistoryBuffer, '__init__')


def test_package_metafiles_are_parsed_once(monkeypatch):
    """``pkg::`` lookups read every metafile of the package; mmkd parses
    each once per process, and the lookup gives the same config."""
    import mmengine.fileio
    from mmengine.config import utils
    from mmengine.hub import get_config

    from mmkd.compat import cache_package_metafiles
    assert utils.load._mmkd_cached  # applied by import mmkd
    parsed = []

    def counting_load(file, *args, **kwargs):
        parsed.append(file)
        return mmengine.fileio.load(file, *args, **kwargs)

    monkeypatch.setattr(utils, 'load', counting_load)
    cache_package_metafiles()
    path = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
    first = get_config(path)
    count = len(parsed)
    assert count > 100  # mmdet's model-index and its metafiles
    second = get_config(path)
    assert len(parsed) == count  # nothing parsed again
    assert first.model == second.model
