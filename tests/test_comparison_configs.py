"""The shipped comparison configs restate single-method configs as arms:
each such arm has exactly that config's losses (its teacher renamed where
the comparison gives the teacher another name), its student and teacher,
so a table from a comparison run is a table of the shipped methods."""
import inspect
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS

import mmkd  # noqa: F401  (registers the losses)
from mmkd.distillers import ComparisonOptimWrapperConstructor

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
BCCD = 'comparison/comparison_retinanet-r50_retinanet-r18_plain-cwd-acam-prockd_1xb4-12e_bccd.py'  # noqa: E501
BCCD2 = 'comparison/comparison_retinanet-r18_retinanet-r18w16_plain-cwd-acam-prockd_1xb4-48e_bccd.py'  # noqa: E501
CAMVID = 'comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-prockd-variants_1xb4-2k_camvid-240x180.py'  # noqa: E501
CAMVID4 = 'comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-prockd-cwdbf16_1xb4-4k_camvid-240x180.py'  # noqa: E501
CAMVID_PAIR = 'pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py'
TRIO = f'comparison/comparison_{CAMVID_PAIR}'.replace('_1xb4',
                                                      '_plain-cwd-bpkd_1xb4')
PROCKD_CAMVID = ('prockd/prockd_resnet18-bccd-cells_pspnet-r18w32-d8_1xb4-1k_'
                 'camvid-240x180.py')
# (comparison, arm, single-method config, the arm's teacher name)
ARMS = [
    (BCCD, 'cwd', 'acam/cwd_retinanet-r50_retinanet-r18_1xb4-12e_bccd.py',
     'teacher'),
    (BCCD, 'acam', 'acam/acam_retinanet-r50_retinanet-r18_1xb4-12e_bccd.py',
     'teacher'),
    (BCCD, 'prockd',
     'prockd/prockd_resnet18-camvid-tiles_retinanet-r18-fpn_1xb4-12e_bccd.py',
     'tiles'),
    (TRIO, 'cwd', f'cwd/cwd_{CAMVID_PAIR}', 'teacher'),
    (TRIO, 'bpkd', f'bpkd/bpkd_{CAMVID_PAIR}', 'teacher'),
    (CAMVID, 'cwd', f'cwd/cwd_{CAMVID_PAIR}', 'teacher'),
    (CAMVID, 'cwd_bf16', f'cwd/cwd_{CAMVID_PAIR}', 'bf16'),
    (CAMVID, 'bpkd', f'bpkd/bpkd_{CAMVID_PAIR}', 'teacher'),
    (CAMVID, 'bpkd_clip35', f'bpkd/bpkd_{CAMVID_PAIR}', 'teacher'),
    (CAMVID, 'acam', f'acam/acam_{CAMVID_PAIR}', 'teacher'),
    (CAMVID, 'prockd', PROCKD_CAMVID, 'cells'),
    (CAMVID4, 'cwd', f'cwd/cwd_{CAMVID_PAIR}', 'teacher'),
    (CAMVID4, 'bpkd', f'bpkd/bpkd_{CAMVID_PAIR}', 'teacher'),
    (CAMVID4, 'acam', f'acam/acam_{CAMVID_PAIR}', 'teacher'),
    (CAMVID4, 'prockd', PROCKD_CAMVID, 'cells'),
    (CAMVID4, 'cwd_bf16', f'cwd/cwd_{CAMVID_PAIR}', 'bf16'),
]


def _with_defaults(loss: dict) -> dict:
    """``loss`` with the arguments it leaves out at their defaults."""
    cls = MODELS.get(loss['type'])
    defaults = {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return {**defaults, **loss}


def _losses(losses: dict, name: str = 'teacher') -> dict:
    """``losses`` in full, their teacher taps named ``name``."""
    out = {}
    for key, loss in losses.items():
        loss = _with_defaults(loss)
        if name != 'teacher' and isinstance(loss.get('teacher'), str):
            loss['teacher'] = f'{name}:{loss["teacher"]}'
        out[key] = loss
    return out


def _teacher_of(model: dict, name: str) -> dict:
    return model['teacher'] if name == 'teacher' else model['teachers'][name]


@pytest.mark.parametrize(
    'comparison,arm,single,teacher',
    ARMS,
    ids=[
        f'{ {BCCD: "bccd", TRIO: "trio", CAMVID: "camvid3", CAMVID4: "camvid4"}[c]}-{a}'  # noqa: E501
        for c, a, _, _ in ARMS
    ])
def test_arm_is_the_shipped_method(comparison, arm, single, teacher):
    model = Config.fromfile(str(CONFIGS / comparison)).model.to_dict()
    method = Config.fromfile(str(CONFIGS / single)).model.to_dict()
    assert _losses(model['arms'][arm]['losses']) == _losses(
        method['losses'], teacher)
    assert model['student'] == method['student']
    ours, theirs = _teacher_of(model, teacher), method['teacher']
    for key in ('config', 'model', 'preprocessing'):
        assert ours.get(key) == theirs.get(key), key


def _arm_optimizer(comparison: str, arm: str) -> dict:
    cfg = Config.fromfile(str(CONFIGS / comparison))
    wrapper = ComparisonOptimWrapperConstructor(cfg.optim_wrapper)
    return wrapper.arm_config(arm).to_dict()


@pytest.mark.parametrize('comparison,arm,clipped',
                         [(TRIO, 'bpkd', True), (CAMVID4, 'bpkd', True),
                          (CAMVID4, 'cwd', False),
                          (CAMVID, 'bpkd_clip35', True),
                          (CAMVID, 'bpkd', False)])
def test_bpkd_arm_clips_as_the_shipped_config(comparison, arm, clipped):
    """The shipped CamVid BPKD config clips the gradient (from scratch the
    paper's weights need it), and so do the BPKD arms of the comparisons
    since; round 3's ``bpkd`` arm is kept unclipped, as it was run."""
    shipped = Config.fromfile(str(CONFIGS / f'bpkd/bpkd_{CAMVID_PAIR}'))
    clip = shipped.optim_wrapper.clip_grad.to_dict()
    assert _arm_optimizer(comparison, arm)['clip_grad'] == (
        clip if clipped else None)


@pytest.mark.parametrize('comparison', [CAMVID, CAMVID4])
def test_bf16_teacher_is_the_teacher_cast_to_bf16(comparison):
    model = Config.fromfile(str(CONFIGS / comparison)).model
    assert model.teachers.bf16.precision == 'bf16'
    assert model.teachers.bf16.config == model.teacher.config
    assert model.teacher.get('precision', 'fp32') == 'fp32'


CAMVID5 = CAMVID4.replace('4k_camvid-240x180', '3k_camvid-120x90')


def test_half_resolution_comparison_is_round_4_at_120x90_3k():
    """Round 5 restates the 120x90 dataset base's pipelines (it inherits
    its arms from round 4, whose 240x180 dataset base cannot be listed
    beside the 120x90 one): they must stay equal, and everything else
    must be round 4's but the student and teacher configs and the
    schedule's length."""
    half, full = (
        Config.fromfile(str(CONFIGS / c)) for c in (CAMVID5, CAMVID4))
    data = Config.fromfile(
        str(CONFIGS / '_base_' / 'datasets' / 'camvid_120x90.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert half[loader].dataset.to_dict() == data[loader].dataset.to_dict(
        ), loader
    assert half.model.arms.to_dict() == full.model.arms.to_dict()
    assert half.optim_wrapper.to_dict() == full.optim_wrapper.to_dict()
    assert [dict(s, end=4000)
            for s in half.param_scheduler] == full.param_scheduler
    assert half.param_scheduler[0].end == half.train_cfg.max_iters == 3000
    assert dict(half.train_cfg, max_iters=4000) == full.train_cfg
    teacher = 'mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py'
    assert half.model.teacher.config == teacher
    assert half.model.teachers.bf16.config == teacher
    assert half.model.teachers.bf16.precision == 'bf16'
    assert half.model.teachers.cells == full.model.teachers.cells
    assert half.model.student.config == (
        'mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-120x90.py')


CAMVID6 = 'comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd_1xb4-12k_camvid-120x90.py'  # noqa: E501


def test_narrow_student_comparison_is_the_trio_at_120x90():
    """Round 6: the trio's arms and optimizers, the 120x90 dataset base,
    the eighth-width student and the 120x90 teacher, one schedule."""
    narrow, trio = (Config.fromfile(str(CONFIGS / c)) for c in (CAMVID6, TRIO))
    data = Config.fromfile(
        str(CONFIGS / '_base_' / 'datasets' / 'camvid_120x90.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert narrow[loader].dataset.to_dict(
        ) == data[loader].dataset.to_dict(), loader
    assert narrow.model.arms.to_dict() == trio.model.arms.to_dict()
    assert narrow.optim_wrapper.to_dict() == trio.optim_wrapper.to_dict()
    assert narrow.model.student.config == (
        'mmkd::cwd/pspnet_r18w8-d8_1xb4-1k_camvid-120x90.py')
    assert narrow.model.teacher.config == (
        'mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py')
    assert narrow.param_scheduler[0].end == narrow.train_cfg.max_iters


def test_bccd_round_two_is_round_one_with_the_narrow_pair():
    """BCCD round 2: round 1's arms and losses, the quarter-width student
    (64 FPN channels) aligned to the RetinaNet-R18 teacher's 256 by each
    loss's own 1x1 mapping, the teacher's 24-epoch schedule stretched to
    48 epochs."""
    two, one = (Config.fromfile(str(CONFIGS / c)) for c in (BCCD2, BCCD))
    assert two.model.student.config == (
        'mmkd::acam/retinanet_r18w16_fpn64_1xb4-12e_bccd.py')
    assert two.model.teacher.config == (
        'mmkd::acam/retinanet_r18_fpn_1xb4-24e_bccd.py')
    assert two.model.teachers.to_dict() == one.model.teachers.to_dict()
    arms_two, arms_one = two.model.arms.to_dict(), one.model.arms.to_dict()
    assert arms_two.keys() == arms_one.keys()
    align = dict(
        type='mmkd.ChannelAlignConnector', in_channels=64, out_channels=256)
    for name, loss in arms_one['cwd']['losses'].items():
        assert arms_two['cwd']['losses'][name] == dict(loss, connector=align)
    for arm, loss in (('acam', 'loss_acam'), ('prockd', 'loss_prockd')):
        assert arms_two[arm]['losses'][loss] == dict(
            arms_one[arm]['losses'][loss], student_channels=64)
    teacher = Config.fromfile(
        str(CONFIGS / 'acam' / 'retinanet_r18_fpn_1xb4-24e_bccd.py'))
    assert teacher.train_cfg.max_epochs == 24
    assert two.train_cfg.max_epochs == 48
    warmup, steps = two.param_scheduler
    assert warmup == teacher.param_scheduler[0]
    assert steps == dict(
        teacher.param_scheduler[1], end=48, milestones=[32, 44])
