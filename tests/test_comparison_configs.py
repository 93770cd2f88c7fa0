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
BCCD2 = 'comparison/comparison_retinanet-r18_retinanet-r18w16_plain-cwd-acam-prockd_1xb4-48e_bccd.py'  # noqa: E501
CAMVID_PAIR = 'pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py'
TRIO = f'comparison/comparison_{CAMVID_PAIR}'.replace('_1xb4',
                                                      '_plain-cwd-bpkd_1xb4')
CAMVID5 = 'comparison/comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-acam-prockd-cwdbf16_1xb4-3k_camvid-120x90.py'  # noqa: E501
CAMVID6 = 'comparison/comparison_pspnet-r18-d8_pspnet-r18w8-d8_plain-cwd-bpkd_1xb4-12k_camvid-120x90.py'  # noqa: E501
PROCKD_CAMVID = ('prockd/prockd_resnet18-bccd-cells_pspnet-r18w32-d8_1xb4-1k_'
                 'camvid-240x180.py')
# The readings an earlier round ran with, where the shipped default changed
# after it (round 7 of docs/experiments/camvid.md): its arm names them.
PER_CLASS = dict(edge_norm='per_class_count')
PAPER_ACAM = dict(detach_masks_in_loss=False, detach_student_in_fusion=False)
# (comparison, arm, single-method config, the arm's teacher name, whether
# the comparison trains the single-method config's pair: otherwise only
# the losses are the method's, on another resolution or student; the
# earlier readings the arm keeps)
ARMS = [
    (TRIO, 'cwd', f'cwd/cwd_{CAMVID_PAIR}', 'teacher', True, {}),
    (TRIO, 'bpkd', f'bpkd/bpkd_{CAMVID_PAIR}', 'teacher', True, PER_CLASS),
    (CAMVID5, 'cwd', f'cwd/cwd_{CAMVID_PAIR}', 'teacher', False, {}),
    (CAMVID5, 'cwd_bf16', f'cwd/cwd_{CAMVID_PAIR}', 'bf16', False, {}),
    (CAMVID5, 'bpkd', f'bpkd/bpkd_{CAMVID_PAIR}', 'teacher', False, PER_CLASS),
    (CAMVID5, 'acam', f'acam/acam_{CAMVID_PAIR}', 'teacher', False,
     PAPER_ACAM),
    (CAMVID5, 'prockd', PROCKD_CAMVID, 'cells', False, {}),
    (CAMVID6, 'cwd', f'cwd/cwd_{CAMVID_PAIR}', 'teacher', False, {}),
    (CAMVID6, 'bpkd', f'bpkd/bpkd_{CAMVID_PAIR}', 'teacher', False, PER_CLASS),
]
IDS = {TRIO: 'trio', CAMVID5: 'camvid5', CAMVID6: 'camvid6'}


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
    'comparison,arm,single,teacher,same_pair,then',
    ARMS,
    ids=[f'{IDS[c]}-{a}' for c, a, *_ in ARMS])
def test_arm_is_the_shipped_method(comparison, arm, single, teacher, same_pair,
                                   then):
    model = Config.fromfile(str(CONFIGS / comparison)).model.to_dict()
    method = Config.fromfile(str(CONFIGS / single)).model.to_dict()
    shipped = _losses(method['losses'], teacher)
    for loss in shipped.values():
        # the earlier readings are not today's defaults, and are the only
        # difference between the arm and the shipped config
        assert all(loss[k] != v for k, v in then.items())
        loss.update(then)
    assert _losses(model['arms'][arm]['losses']) == shipped
    if not same_pair:
        return
    assert model['student'] == method['student']
    ours, theirs = _teacher_of(model, teacher), method['teacher']
    for key in ('config', 'model', 'preprocessing'):
        assert ours.get(key) == theirs.get(key), key


def _arm_optimizer(comparison: str, arm: str) -> dict:
    cfg = Config.fromfile(str(CONFIGS / comparison))
    wrapper = ComparisonOptimWrapperConstructor(cfg.optim_wrapper)
    return wrapper.arm_config(arm).to_dict()


@pytest.mark.parametrize('comparison,arm,clipped', [(TRIO, 'bpkd', True),
                                                    (CAMVID5, 'bpkd', True),
                                                    (CAMVID5, 'cwd', False),
                                                    (CAMVID6, 'bpkd', True),
                                                    (CAMVID6, 'cwd', False)])
def test_bpkd_arm_clips_as_the_shipped_config(comparison, arm, clipped):
    """The shipped CamVid BPKD config clips the gradient (from scratch the
    paper's weights need it), and so do the BPKD arms of the comparisons;
    the other arms do not."""
    shipped = Config.fromfile(str(CONFIGS / f'bpkd/bpkd_{CAMVID_PAIR}'))
    clip = shipped.optim_wrapper.clip_grad.to_dict()
    assert _arm_optimizer(comparison, arm)['clip_grad'] == (
        clip if clipped else None)


def test_bf16_teacher_is_the_teacher_cast_to_bf16():
    model = Config.fromfile(str(CONFIGS / CAMVID5)).model
    assert model.teachers.bf16.precision == 'bf16'
    assert model.teachers.bf16.config == model.teacher.config
    assert model.teachers.bf16.checkpoint == model.teacher.checkpoint
    assert model.teacher.get('precision', 'fp32') == 'fp32'


def test_round_5_is_round_6_with_three_more_arms_at_half_width_3k():
    """Round 5: round 6's arms and optimizers, the 120x90 dataset base and
    teacher, plus ACAM-KD, ProC-KD (the cross-task cells teacher) and CWD
    from the teacher in bf16, on the half-width student for 3,000
    iterations."""
    five, six = (Config.fromfile(str(CONFIGS / c)) for c in (CAMVID5, CAMVID6))
    data = Config.fromfile(
        str(CONFIGS / '_base_' / 'datasets' / 'camvid_120x90.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert five[loader].dataset.to_dict() == data[loader].dataset.to_dict(
        ), loader
    arms = five.model.arms.to_dict()
    assert list(arms) == [
        'student', 'cwd', 'bpkd', 'acam', 'prockd', 'cwd_bf16'
    ]
    assert {k: arms[k]
            for k in ('student', 'cwd', 'bpkd')} == six.model.arms.to_dict()
    assert five.optim_wrapper.to_dict() == six.optim_wrapper.to_dict()
    assert five.param_scheduler[0].end == five.train_cfg.max_iters == 3000
    assert five.train_cfg.val_interval == 500
    teacher = 'mmkd::cwd/pspnet_r18-d8_1xb4-1k_camvid-120x90.py'
    assert five.model.teacher.config == six.model.teacher.config == teacher
    assert five.model.teachers.bf16.config == teacher
    cells = Config.fromfile(
        str(CONFIGS / '_base_' / 'distill' /
            'prockd_bccd-cells_camvid-arm.py'))
    assert five.model.teachers.cells.to_dict() == cells.cells_teacher.to_dict()
    assert five.model.student.config == (
        'mmkd::cwd/pspnet_r18w32-d8_1xb4-1k_camvid-120x90.py')


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


BCCD_METHODS = {
    'cwd': ('acam/cwd_retinanet-r50_retinanet-r18_1xb4-12e_bccd.py',
            'teacher'),
    'acam': ('acam/acam_retinanet-r50_retinanet-r18_1xb4-12e_bccd.py',
             'teacher'),
    'prockd': ('prockd/prockd_resnet18-camvid-tiles_retinanet-r18-fpn_1xb4-'
               '12e_bccd.py', 'tiles'),
}


def test_bccd_round_two_is_the_bccd_methods_with_the_narrow_pair():
    """BCCD round 2: the losses of the shipped BCCD configs (CWD and
    ACAM-KD from configs/acam/, ProC-KD from configs/prockd/ with its
    tiles teacher), the quarter-width student (64 FPN channels) aligned to
    the RetinaNet-R18 teacher's 256 by each loss's own 1x1 mapping, the
    teacher's 24-epoch schedule stretched to 48 epochs."""
    two = Config.fromfile(str(CONFIGS / BCCD2))
    assert two.model.student.config == (
        'mmkd::acam/retinanet_r18w16_fpn64_1xb4-12e_bccd.py')
    assert two.model.teacher.config == (
        'mmkd::acam/retinanet_r18_fpn_1xb4-24e_bccd.py')
    arms = two.model.arms.to_dict()
    assert list(arms) == ['student', 'cwd', 'acam', 'prockd']
    assert arms['student'] == {}
    align = dict(
        type='mmkd.ChannelAlignConnector', in_channels=64, out_channels=256)
    for arm, (single, teacher) in BCCD_METHODS.items():
        method = Config.fromfile(str(CONFIGS / single)).model.to_dict()
        losses = method['losses']
        for name, loss in losses.items():
            if arm == 'cwd':
                losses[name] = dict(loss, connector=align)
            else:
                losses[name] = dict(loss, student_channels=64)
            if arm == 'acam':  # round 2 ran the paper's reading
                losses[name].update(PAPER_ACAM)
        assert _losses(arms[arm]['losses']) == _losses(losses, teacher), arm
        if arm == 'prockd':
            ours = two.model.teachers.tiles.to_dict()
            for key in ('config', 'model', 'preprocessing'):
                assert ours.get(key) == method['teacher'].get(key), key
    teacher = Config.fromfile(
        str(CONFIGS / 'acam' / 'retinanet_r18_fpn_1xb4-24e_bccd.py'))
    assert teacher.train_cfg.max_epochs == 24
    assert two.train_cfg.max_epochs == 48
    warmup, steps = two.param_scheduler
    assert warmup == teacher.param_scheduler[0]
    assert steps == dict(
        teacher.param_scheduler[1], end=48, milestones=[32, 44])


def test_round7_is_round6_with_the_variant_arms():
    """Round 7 (docs/experiments/camvid.md) keeps round 6's pair, data,
    schedule and its three arms, and adds the BPKD and ACAM-KD readings."""
    six = Config.fromfile(str(CONFIGS / CAMVID6)).to_dict()
    seven = Config.fromfile(
        str(CONFIGS / CAMVID6.replace('plain-cwd-bpkd',
                                      'bpkd-acam-variants'))).to_dict()
    arms6, arms7 = six['model'].pop('arms'), seven['model'].pop('arms')
    assert {k: arms7[k] for k in arms6} == arms6
    assert list(arms7) == [
        'student', 'cwd', 'bpkd', 'bpkd_global', 'bpkd_tenth', 'bpkd_balanced',
        'acam', 'acam_detach', 'acam_identity', 'mse'
    ]
    assert arms7['bpkd_global']['losses']['loss_bpkd'][
        'edge_norm'] == 'global_count'
    assert arms7['acam_identity']['losses']['loss_acam']['align'] == \
        'identity'
    assert six['model'] == seven['model']
    for key in ('train_cfg', 'param_scheduler', 'train_dataloader',
                'custom_hooks', 'model_wrapper_cfg'):
        assert six.get(key) == seven.get(key), key


ROUND8 = CAMVID6.replace('plain-cwd-bpkd', 'plain-cwd-bpkd-acam')


def test_round9_is_round8_with_bpkd_terms_and_prockd():
    """Round 9: round 8's pair, data, schedule and hooks; each BPKD arm is
    round 8's (loss and clip) with one weight at 0; the ProC-KD arm is
    round 5's on the narrow student's stage 4 (64 channels)."""
    eight = Config.fromfile(str(CONFIGS / ROUND8)).to_dict()
    nine = Config.fromfile(
        str(CONFIGS / ROUND8.replace('plain-cwd-bpkd-acam',
                                     'plain-bpkdedge-bpkdbody-prockd')))
    cells = Config.fromfile(
        str(CONFIGS / '_base_' / 'distill' /
            'prockd_bccd-cells_camvid-arm.py'))
    nine = nine.to_dict()
    arms8, arms = eight['model'].pop('arms'), nine['model'].pop('arms')
    assert list(arms) == ['student', 'bpkd_edge', 'bpkd_body', 'prockd']
    bpkd = arms8['bpkd']['losses']['loss_bpkd']
    assert arms['bpkd_edge']['losses']['loss_bpkd'] == dict(
        bpkd, body_weight=0.0)
    assert arms['bpkd_body']['losses']['loss_bpkd'] == dict(
        bpkd, edge_weight=0.0)
    prockd = cells.prockd_arm.to_dict()['losses']['loss_prockd']
    assert arms['prockd']['losses']['loss_prockd'] == dict(
        prockd, student_channels=64)
    assert nine['model'].pop('teachers') == dict(
        cells=cells.cells_teacher.to_dict())
    clip = eight['optim_wrapper'].pop('arms')['bpkd']
    assert nine['optim_wrapper'].pop('arms') == dict(
        bpkd_edge=clip, bpkd_body=clip)
    assert eight['model'] == nine['model']
    for key in ('optim_wrapper', 'train_cfg', 'param_scheduler',
                'train_dataloader', 'val_dataloader', 'custom_hooks',
                'model_wrapper_cfg'):
        assert eight.get(key) == nine.get(key), key


def test_bccd_round_three_is_round_two_with_the_shipped_acam():
    """BCCD round 3: round 2 without the ProC-KD arm and its teacher, and
    ACAM-KD at its shipped defaults (round 2 named the paper's reading)."""
    two = Config.fromfile(str(CONFIGS / BCCD2)).to_dict()
    three = Config.fromfile(str(CONFIGS /
                                BCCD2.replace('-prockd', ''))).to_dict()
    arms2, arms3 = two['model'].pop('arms'), three['model'].pop('arms')
    assert list(arms3) == ['student', 'cwd', 'acam']
    assert arms3['cwd'] == arms2['cwd']
    acam2 = arms2['acam']['losses']['loss_acam']
    for switch, paper in PAPER_ACAM.items():
        assert acam2.pop(switch) == paper
    acam3 = arms3['acam']['losses']['loss_acam']
    assert acam3 == acam2
    assert _with_defaults(acam3) == _with_defaults(
        dict(acam2, **{k: not v
                       for k, v in PAPER_ACAM.items()}))
    assert two['model'].pop('teachers')['tiles']
    assert three['model'].pop('teachers') is None
    assert two['model'] == three['model']
    for key in ('optim_wrapper', 'train_cfg', 'param_scheduler',
                'train_dataloader', 'val_dataloader', 'val_evaluator',
                'custom_hooks', 'model_wrapper_cfg'):
        assert two.get(key) == three.get(key), key
