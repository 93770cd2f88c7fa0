"""Draw ProC-KD's prototype assignment maps over an image.

The image, then the assignment maps ``a_k`` (PLM's soft assignment of the
teacher's tokens to prototype k, on the student level's grid, upsampled to
the image; colour scale [0, max]) of the ``--num`` prototypes that take the
largest share of the image (or those of ``--prototypes``), each titled with
its share. They come from the Distiller's ``ProCKDLoss`` entry given the
teacher's and the student's features on the image, as in a training step
(the test pipeline prepares the image).

Example (CamVid, after the runs of docs/methods/prockd.md)::

    python tools/analysis/visualize_prockd.py \\
        configs/prockd/prockd_*_pspnet-r18w32-d8_1xb4-1k_camvid-240x180.py \\
        ../shared/data/camvid_240x180/val/0016E5_07959.png \\
        --checkpoint work_dirs/prockd_gains/<run>/iter_1000.pth \\
        --out docs/methods/images/prockd_camvid.png

For a ``mmkd.DistillComparison`` run, give its config and checkpoint and
the arm with ``--arm NAME`` (e.g. ``--arm prockd``).

Without ``--checkpoint`` PLM is as initialised (assignments near 1/K);
``--no-teacher-checkpoint`` builds the teacher untrained (a smoke run).
"""
import argparse
import os.path as osp
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from visualize_acam import load_model  # noqa: E402
from visualize_acam import add_model_args, load_inputs  # noqa: E402

import mmkd  # noqa: F401,E402
from mmkd.losses import ProCKDLoss  # noqa: E402


def prockd_entry(model, name=None):
    for key, entry in model.distill_losses.items():
        if isinstance(entry.loss, ProCKDLoss) and name in (None, key):
            return entry
    raise KeyError(f'no ProCKDLoss entry {name or ""} in the config losses '
                   f'{list(model.distill_losses)}')


@torch.no_grad()
def assignment_maps(model, batch, entry_name=None):
    """(K, H, W) assignment maps of the first image at image size, and the
    preprocessed image (H, W, 3) in [0, 1]."""
    entry = prockd_entry(model, entry_name)
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    teacher = model._teacher_records(inputs, samples)[entry.teacher_tap]
    with model.student_taps:
        model.student(inputs, samples, mode='tensor')
    student = model.student_taps.pop()[entry.student_tap]
    assign = entry.loss.assignments(student, teacher)
    if assign.dim() != 4:
        raise ValueError('assignment maps need a dense student level')
    img = inputs[0].permute(1, 2, 0).float().cpu().numpy()
    img = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
    up = F.interpolate(assign[:1], size=img.shape[:2], mode='nearest')
    return up[0].cpu().numpy(), img


def draw(maps, img, prototypes, out):
    gray = img.mean(-1)
    vmax = float(maps[prototypes].max())
    fig, axes = plt.subplots(
        1, len(prototypes) + 1, figsize=(2.4 * (len(prototypes) + 1), 2.2))
    axes[0].imshow(img)
    axes[0].set_title('image', fontsize=8)
    for ax, k in zip(axes[1:], prototypes):
        ax.imshow(gray, cmap='gray')
        ax.imshow(maps[k], cmap='magma', vmin=0, vmax=vmax, alpha=0.65)
        ax.set_title(f'prototype {k}: share {maps[k].mean():.3f}', fontsize=7)
    for ax in axes:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a Distiller config with ProCKDLoss')
    parser.add_argument('image')
    parser.add_argument('--entry', help='the loss entry, if several')
    parser.add_argument('--prototypes', type=int, nargs='+')
    parser.add_argument('--num', type=int, default=6)
    parser.add_argument('--out', default='prockd_assignments.png')
    add_model_args(parser)
    args = parser.parse_args(argv)

    cfg, model = load_model(args)
    maps, img = assignment_maps(model, load_inputs(cfg, args.image),
                                args.entry)
    prototypes = args.prototypes or maps.mean(
        (1, 2)).argsort()[::-1][:args.num].tolist()
    draw(maps, img, prototypes, args.out)
    print(f'wrote {args.out}: prototypes {prototypes} of {maps.shape[0]}')


if __name__ == '__main__':
    main()
