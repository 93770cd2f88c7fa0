from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from mmkd.hooks import DistillScheduleHook, distill_factor


def test_factor_shapes():
    assert [distill_factor(i, warmup=4) for i in range(5)] == \
        [0.25, 0.5, 0.75, 1.0, 1.0]
    cos = [
        distill_factor(i, decay='cosine', decay_begin=10, decay_end=20)
        for i in (0, 10, 15, 20, 30)
    ]
    assert cos == pytest.approx([1, 1, 0.5, 0, 0])
    assert distill_factor(
        15, decay='cosine', decay_begin=10, decay_end=20,
        min_factor=0.2) == pytest.approx(0.6)
    assert [
        distill_factor(i, decay='step', milestones=[2, 4], gamma=0.5)
        for i in (1, 2, 4)
    ] == [1, 0.5, 0.25]
    assert distill_factor(9, warmup=4, stop=10) == 1
    assert distill_factor(10, warmup=4, stop=10) == 0
    # warm-up and decay multiply
    assert distill_factor(1, warmup=4, decay='step', milestones=[1]) == \
        pytest.approx(0.05)


def test_bad_settings_fail_at_construction():
    with pytest.raises(ValueError, match='cosine decay needs decay_end'):
        DistillScheduleHook(decay='cosine')
    with pytest.raises(ValueError, match="decay should be 'none', 'cosine'"):
        DistillScheduleHook(decay='linear')


def test_hook_sets_scale_by_iter_and_epoch():
    model = SimpleNamespace(distill_scale=1.0)
    hub = MessageHub.get_instance('test_distill_schedule')
    runner = SimpleNamespace(model=model, iter=1, epoch=3, message_hub=hub)
    DistillScheduleHook(warmup=4).before_train_iter(runner, 0)
    assert model.distill_scale == 0.5
    assert hub.get_scalar('train/distill_scale').current() == 0.5
    DistillScheduleHook(stop=3, by_epoch=True).before_train_iter(runner, 0)
    assert model.distill_scale == 0
    with pytest.raises(TypeError, match='needs a mmkd.Distiller'):
        DistillScheduleHook().before_train_iter(
            SimpleNamespace(model=object(), iter=0, epoch=0), 0)
