"""tools/analysis/visualize_g2sd.py draws the generic stage's targets and
predictions; what it shows is what a training step computes."""
import argparse
import sys

import torch

from tests.conftest import CAMVID, ROOT, requires_camvid

sys.path.insert(0, str(ROOT / 'tools' / 'analysis'))
CONFIG = (
    ROOT / 'configs' / 'g2sd' / 'cpu' /
    'g2sd-gd_mae-vit-d192l6_vit-d96l6-dec64d2b_1xb32-2k_shipped-64x64.py')


@requires_camvid
def test_draws_what_the_training_step_computes(tmp_path):
    from visualize_acam import add_model_args, load_model
    from visualize_g2sd import (load_images, main, pca_colours,
                                targets_and_predictions)

    images = [str(p) for p in sorted((CAMVID / 'val').glob('*.png'))[:2]]
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_model_args(parser)
    _, model = load_model(
        parser.parse_args([str(CONFIG), '--no-teacher-checkpoint']))
    model.init_weights()
    batch = load_images(images, 64)
    target, pred, mask, elem, inputs = targets_and_predictions(
        model, batch, seed=3)
    # the config's top-level data_preprocessor normalises, as in training
    assert inputs.mean().abs() < 1 and 0.5 < inputs.std() < 2
    assert target.shape == pred.shape == (2, 65, 128)
    assert mask.shape == (2, 64) and int(mask.sum()) == 2 * 48  # ratio 0.75
    # the same noise (drawn from the same seed) in G2SD.loss gives the mean
    data = model.data_preprocessor(batch, False)
    torch.manual_seed(3)
    with torch.no_grad():
        loss = model.loss(data['inputs'], data['data_samples'])['loss_gd']
    torch.testing.assert_close(elem.mean(), loss, rtol=1e-6, atol=0)
    colours_t, colours_p = pca_colours(target, pred)
    assert colours_t.shape == colours_p.shape == (2, 64, 3)
    assert colours_t.min() == 0 and colours_t.max() == 1  # the targets' range
    out = tmp_path / 'g2sd.png'
    main([str(CONFIG), *images, '--no-teacher-checkpoint', '--out', str(out)])
    assert out.stat().st_size > 10_000
