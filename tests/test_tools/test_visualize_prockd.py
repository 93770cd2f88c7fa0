"""tools/analysis/visualize_prockd.py draws PLM's assignment maps from a
Distiller config on a real image (CamVid pair, untrained teacher)."""
import sys

import numpy as np

from tests.conftest import CAMVID, ROOT, requires_camvid

sys.path.insert(0, str(ROOT / 'tools' / 'analysis'))
CONFIG = (
    ROOT / 'configs' / 'prockd' /
    'prockd_resnet18-bccd-cells_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py')


@requires_camvid
def test_draws_assignment_maps(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    from visualize_acam import load_inputs
    from visualize_prockd import assignment_maps, main

    image = sorted((CAMVID / 'val').glob('*.png'))[0]
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model).eval()
    maps, img = assignment_maps(model, load_inputs(cfg, str(image)))
    assert maps.shape == (72, ) + img.shape[:2]  # K = 72 prototypes
    np.testing.assert_allclose(maps.sum(0), 1, atol=1e-5)
    out = tmp_path / 'maps.png'
    main([
        str(CONFIG),
        str(image), '--no-teacher-checkpoint', '--num', '3', '--out',
        str(out)
    ])
    assert out.stat().st_size > 10_000
