"""tools/analysis/benchmark_distill.py runs on segmentation configs of any
class count and on detection configs, and times the size it is asked for
(the config's crop padding used to enlarge the batch silently)."""
import re

import pytest

from tests.conftest import ROOT
from tests.utils import load_tool

CONFIGS = ROOT / 'configs'
RETINANET = 'cwd/cwd_retinanet-r101-fpn_retinanet-r50-fpn_1x_coco.py'


def _tool():
    return load_tool('tools/analysis/benchmark_distill.py')


@pytest.mark.parametrize(
    'config,size,classes',
    [
        # demo (shapes): UNet, 4 classes; sizes a multiple of its 16
        ('demo/cwd_unet-s5-c16_unet-s5-c8_1xb16-300i_shapes-64x64.py',
         (64, 96), None),
        # CamVid: crop 176x224, 11 classes (fake labels up to 18 broke the CE)
        ('bpkd/bpkd_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py',
         (48, 64), 11),
        # detection: fake boxes, 80 COCO classes, pad_size_divisor 32
        (RETINANET, (96, 128), 80),
    ])
def test_runs_at_the_asked_size(config, size, classes, capsys):
    _tool().main([
        str(CONFIGS / config), '--size', *map(str, size), '--batch', '2',
        '--iters', '1', '--warmup', '1', '--device', 'cpu', '--skip-memory'
    ])
    out = capsys.readouterr().out
    shape = re.search(r'^batch: (\d+) x (\d+) x (\d+) x (\d+) \((\d+) classes',
                      out, re.M)
    assert shape, out
    assert tuple(map(int, shape.groups()[:4])) == (2, 3, *size), out
    if classes is not None:
        assert int(shape.group(5)) == classes, out
    assert 'note: asked for' not in out
    # one timed round of each phase (memory skipped: nan)
    for phase in ('student training step', 'teacher inference forward',
                  'distillation training step'):
        row = rf'^\| {phase} \| [0-9]+\.[0-9]{{3}} \| .* \| nan \|$'
        assert re.search(row, out, re.M), out


def test_reports_padding_it_cannot_avoid(capsys):
    # RetinaNet pads to a multiple of 32: 100 x 120 becomes 128 x 128, and
    # the header says so instead of printing the asked size.
    _tool().main([
        str(CONFIGS / RETINANET), '--size', '100', '120', '--batch', '2',
        '--iters', '1', '--warmup', '0', '--device', 'cpu', '--skip-memory'
    ])
    out = capsys.readouterr().out
    assert 'batch: 2 x 3 x 128 x 128 ' in out, out
    assert 'note: asked for 100 x 120; ' in out, out


def test_refuses_configs_without_a_teacher():
    with pytest.raises(
            ValueError, match='not a mmkd.Distiller config.*'
            'benchmark_dfine'):
        _tool().main([
            str(CONFIGS / 'dfine/dfine_dino-4scale_r18_1xb4-4e_bccd.py'),
            '--skip-memory'
        ])
