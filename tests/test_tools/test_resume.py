"""Trainable loss parts (connectors) are optimised, saved and restored."""
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.test_tools.shapes_setup import (DISTILL, make_shapes_and_teacher,
                                           small_options)

FEATURE_LOSS = dict(
    type='mmkd.ChannelWiseDivergence',
    student='backbone.encoder.4',
    teacher='backbone.encoder.4',
    connector=dict(
        type='mmkd.ChannelAlignConnector', in_channels=128, out_channels=256))
CONN = 'distill_losses.loss_feat.connectors.0.conv.weight'


def config(data, ckpt, work_dir, iters):
    cfg = Config.fromfile(str(DISTILL))
    cfg.merge_from_dict(small_options(data, ckpt, work_dir, iters))
    cfg.model.losses.loss_feat = FEATURE_LOSS
    cfg.custom_hooks = [dict(type='mmkd.DistillScheduleHook', warmup=2)]
    cfg.log_level = 'WARNING'
    # SGD: the momentum buffers are compared after resuming
    cfg.optim_wrapper = dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    return cfg


def test_connector_trains_saves_and_resumes(tmp_path):
    data, ckpt = make_shapes_and_teacher(tmp_path)
    runner = Runner.from_cfg(config(data, ckpt, tmp_path / 'run', 2))
    initial = runner.model.state_dict()[CONN].clone()
    runner.train()
    first = torch.load(tmp_path / 'run' / 'iter_1.pth')
    second = torch.load(tmp_path / 'run' / 'iter_2.pth')
    assert not torch.equal(first['state_dict'][CONN], initial)
    assert not torch.equal(second['state_dict'][CONN],
                           first['state_dict'][CONN])
    # the optimizer holds (and saves) the connector: one state per parameter
    n_params = len(list(runner.model.parameters()))
    assert len(second['optimizer']['state']) == n_params
    assert not any(k.startswith('teacher') for k in second['state_dict'])

    cfg = config(data, ckpt, tmp_path / 'resumed', 1)  # nothing left to do
    cfg.resume, cfg.load_from = True, str(tmp_path / 'run' / 'iter_1.pth')
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 1
    state = resumed.model.state_dict()
    for key, value in first['state_dict'].items():
        assert torch.equal(state[key], value), key
    momentum = resumed.optim_wrapper.state_dict()['state']
    for idx, buf in first['optimizer']['state'].items():
        assert torch.equal(momentum[idx]['momentum_buffer'],
                           buf['momentum_buffer'])
