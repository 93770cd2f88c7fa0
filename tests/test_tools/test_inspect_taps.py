"""tools/analysis/inspect_taps.py: module shapes, and each loss's fit."""

from tests.conftest import ROOT
from tests.utils import load_tool

CONFIGS = ROOT / 'configs'
inspect_taps = load_tool('tools/analysis/inspect_taps.py')

MSE = str(CONFIGS / 'feature_mse' / 'feature-mse_pspnet-r18-d8_'
          'pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py')


def test_segmentation_pair_shapes_and_fit():
    lines = inspect_taps.main(
        [MSE, '--filter', 'layer4', '--size', '64', '96'])
    assert lines[0].endswith('batch (2, 3, 64, 96)')
    # every listed module matches the filter; ResNet-18-D8 keeps 1/8
    listed = [ln for ln in lines if ln.startswith('backbone')]
    assert listed and all('layer4' in ln for ln in listed)
    student = lines[:lines.index('== teacher: EncoderDecoder ==')]
    assert any(
        ln.split()[0] == 'backbone.layer4' and ln.endswith('  (2, 256, 8, 12)')
        for ln in student)
    assert lines[-2] == ("loss_feat: student 'backbone.layer4' "
                         "(2, 256, 8, 12), teacher 'backbone.layer4' "
                         '(2, 512, 8, 12)')
    assert lines[-1] == '  fits: (2, 512, 8, 12)'


def test_missing_connector_is_named():
    lines = inspect_taps.main([
        MSE, '--filter', 'nothing-matches', '--size', '64', '96',
        '--cfg-options', 'model.losses.loss_feat.connector=[]'
    ])
    assert lines[-1] == (
        '  does not fit: (2, 256, 8, 12) vs (2, 512, 8, 12); add connector='
        "[dict(type='mmkd.ChannelAlignConnector', in_channels=256, "
        'out_channels=512)]')


def test_detection_neck_levels():
    config = str(CONFIGS / 'cwd' /
                 'cwd_retinanet-r101-fpn_retinanet-r50-fpn_1x_coco.py')
    lines = inspect_taps.main(
        [config, '--filter', 'neck', '--size', '128', '128', '--batch', '1'])
    levels = ', '.join(f'(1, 256, {s}, {s})' for s in (16, 8, 4, 2, 1))
    necks = [ln.split(None, 1)[1] for ln in lines if ln.split()[0] == 'neck']
    assert necks == [f'({levels})'] * 2  # student, teacher
    assert lines[-1] == '  fits: (1, 256, 1, 1)'
