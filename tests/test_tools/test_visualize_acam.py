"""tools/analysis/visualize_acam.py draws a level's spatial masks from a
Distiller config on a real image (CamVid pair, untrained teacher)."""
import sys

from tests.conftest import CAMVID, ROOT, requires_camvid

sys.path.insert(0, str(ROOT / 'tools' / 'analysis'))
CONFIG = (
    ROOT / 'configs' / 'acam' /
    'acam_pspnet-r18-d8_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py')


@requires_camvid
def test_draws_masks(tmp_path):
    import pytest
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    from visualize_acam import load_inputs, main, spatial_masks

    image = sorted((CAMVID / 'val').glob('*.png'))[0]
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model).eval()
    masks, img = spatial_masks(model, load_inputs(cfg, str(image)))
    assert list(masks) == [0]
    assert masks[0].shape == (11, ) + img.shape[:2]  # M = 11 classes
    assert 0 < masks[0].min() and masks[0].max() < 1
    assert torch.is_tensor(torch.as_tensor(img)) and img.max() <= 1
    out = tmp_path / 'masks.png'
    main([
        str(CONFIG),
        str(image), '--no-teacher-checkpoint', '--out',
        str(out)
    ])
    assert out.stat().st_size > 10_000
    with pytest.raises(ValueError, match=r'--levels \[1\].*levels are \[0\]'):
        main([
            str(CONFIG),
            str(image), '--no-teacher-checkpoint', '--levels', '0', '1'
        ])


@requires_camvid
def test_draws_an_arm_of_a_comparison(tmp_path):
    import pytest
    from visualize_acam import main

    image = sorted((CAMVID / 'val').glob('*.png'))[0]
    config = str(ROOT / 'configs' / 'comparison' /
                 'comparison_pspnet-r18-d8_pspnet-r18w32-d8_plain-cwd-bpkd-'
                 'acam-prockd-cwdbf16_1xb4-3k_camvid-120x90.py')
    out = tmp_path / 'arm.png'
    main([
        config,
        str(image), '--no-teacher-checkpoint', '--arm', 'acam', '--out',
        str(out)
    ])
    assert out.stat().st_size > 10_000
    with pytest.raises(ValueError, match=r"no such comparison arm.*'acam'"):
        main([config, str(image), '--no-teacher-checkpoint', '--arm', 'x'])
