"""Draw G2SD's generic-stage targets against the student's predictions.

One row per image: the image with the masked patches dimmed, the teacher's
target (its decoder block ``target_layer``, LayerNorm-ed as in the loss),
the student's prediction, and the Smooth-L1 error per token. Targets and
predictions are shown as PCA colours per token: the three principal
components of the teacher's targets over all the images' patch tokens, one
basis and one colour scale for both, so equal colours mean equal features.
The row's title gives the loss over the masked and the visible tokens.

One mask noise per image, as in a training step (``--seed``); the images go
through a short-edge resize and a centre crop to the backbone's input size.

Example (after the CPU toy of docs/methods/g2sd.md, on CamVid validation
images, which the pre-training never saw)::

    python tools/analysis/visualize_g2sd.py \\
        configs/g2sd/cpu/g2sd-gd_*_shipped-64x64.py \\
        ../shared/data/camvid_240x180/val/0016E5_07959.png ... \\
        --checkpoint work_dirs/g2sd-gd_.../iter_2000.pth \\
        --out docs/methods/g2sd_targets.png

``--cfg-options model.teacher.checkpoint=PATH`` replaces the config's
teacher checkpoint; ``--no-teacher-checkpoint`` builds the teacher
untrained (a smoke run).
"""
import argparse
import os.path as osp
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.dataset import Compose  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from visualize_acam import add_model_args, load_model  # noqa: E402

import mmkd  # noqa: F401,E402
from mmkd.losses.g2sd import g2sd_feature_errors  # noqa: E402


def load_images(paths, size):
    """The images as the data preprocessor's input (B, 3, S, S), stacked as
    the configs' ``default_collate`` does."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose([
            dict(type='LoadImageFromFile'),
            dict(
                type='ResizeEdge',
                scale=size,
                edge='short',
                backend='cv2',
                interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=size),
            dict(type='PackInputs')
        ])
    samples = [pipeline(dict(img_path=p)) for p in paths]
    return dict(
        inputs=torch.stack([s['inputs'] for s in samples]),
        data_samples=[s['data_samples'] for s in samples])


@torch.no_grad()
def targets_and_predictions(model, batch, seed=0):
    """The normalised teacher targets and the student's predictions
    (B, 1 + L, D), the mask (B, L; 1 = masked), the per-element Smooth-L1
    (B, 1 + L, D) and the preprocessed images (B, 3, H, W), for one noise
    drawn from ``seed`` as ``G2SD.loss`` draws it."""
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    torch.manual_seed(seed)
    noise = torch.rand(
        inputs.shape[0], model.backbone.num_patches, device=inputs.device)
    hidden, pred, mask = model.targets_and_predictions(inputs, samples, noise)
    target, elem = g2sd_feature_errors(pred, hidden, model.criterion.beta,
                                       model.criterion.eps)
    return target, pred.float(), mask, elem, inputs


def pca_colours(target, pred):
    """Patch tokens of both as RGB in [0, 1] through the targets' first
    three principal components: (B, L, 3) each."""
    t, p = target[:, 1:], pred[:, 1:]
    flat = t.reshape(-1, t.shape[-1])
    mean = flat.mean(0)
    _, _, v = torch.pca_lowrank(flat - mean, q=3, center=False)
    proj_t, proj_p = (t - mean) @ v, (p - mean) @ v
    lo = proj_t.reshape(-1, 3).min(0).values
    hi = proj_t.reshape(-1, 3).max(0).values
    scale = (hi - lo).clamp_min(1e-6)
    return ((proj_t - lo) / scale).clamp(0, 1), ((proj_p - lo) / scale).clamp(
        0, 1)


def draw(target, pred, mask, elem, inputs, out):
    colours_t, colours_p = pca_colours(target, pred)
    B, L = mask.shape
    side = int(L**.5)
    grid = lambda x: x.reshape(side, side, -1).squeeze(-1).numpy()  # noqa
    token_err = elem[:, 1:].mean(-1)
    vmax = float(token_err.max())
    fig, axes = plt.subplots(B, 4, figsize=(8.4, 2.3 * B), squeeze=False)
    for b in range(B):
        img = inputs[b].permute(1, 2, 0).numpy()
        img = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
        dim = np.kron(
            grid(mask[b]), np.ones(
                (img.shape[0] // side, img.shape[1] // side)))
        masked = mask[b].bool()
        axes[b, 0].imshow(img * (1 - 0.7 * dim[..., None]))
        axes[b, 1].imshow(grid(colours_t[b]))
        axes[b, 2].imshow(grid(colours_p[b]))
        axes[b, 3].imshow(grid(token_err[b]), cmap='magma', vmin=0, vmax=vmax)
        axes[b, 0].set_title('image (masked patches dimmed)', fontsize=7)
        axes[b, 1].set_title('teacher target (PCA)', fontsize=7)
        axes[b, 2].set_title('student prediction (PCA)', fontsize=7)
        axes[b, 3].set_title(
            f'Smooth-L1 per token: masked {token_err[b][masked].mean():.3f}'
            f', visible {token_err[b][~masked].mean():.3f}',
            fontsize=6)
    for ax in axes.flat:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a G2SD generic-stage config')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--seed', type=int, default=0, help='mask noise')
    parser.add_argument('--out', default='g2sd_targets.png')
    add_model_args(parser, 'a G2SD (student) checkpoint')
    args = parser.parse_args(argv)

    _, model = load_model(args)
    batch = load_images(args.images, model.backbone.img_size[0])
    results = targets_and_predictions(model, batch, args.seed)
    draw(*results, out=args.out)
    elem, mask = results[3], results[2]
    masked = torch.cat([mask.new_zeros(mask.shape[0], 1), mask], 1).bool()
    print(f'wrote {args.out}: Smooth-L1 over all tokens '
          f'{elem.mean():.4f}, masked {elem[masked].mean():.4f}, '
          f'visible and class {elem[~masked].mean():.4f}')


if __name__ == '__main__':
    main()
