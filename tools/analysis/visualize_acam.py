"""Draw ACAM-KD's spatial masks over an image.

One row per distilled level: the image, then each of the M spatial masks
``M^s`` (upsampled to the image, values in (0, 1), colour scale fixed to
[0, 1]) with its mean. The masks come from the Distiller's ``ACAMKDLoss``
entry given the teacher's and the student's features on the image, as in a
training step (the test pipeline prepares the image).

Example (BCCD, after the runs of docs/methods/acam_kd.md)::

    python tools/analysis/visualize_acam.py \\
        configs/acam/acam_retinanet-r50_retinanet-r18_1xb4-12e_bccd.py \\
        ../shared/data/bccd/BCCD/JPEGImages/BloodImage_00000.jpg \\
        --checkpoint work_dirs/acam_gains/acam_..._s0/epoch_12.pth \\
        --levels 0 1 2 --out docs/methods/images/acam_bccd.png

For a ``mmkd.DistillComparison`` run, give its config and checkpoint and
the arm with ``--arm NAME`` (e.g. ``--arm acam``).

Without ``--checkpoint`` the units are as initialised (masks near 0.5);
``--no-teacher-checkpoint`` builds the teacher untrained (a smoke run).
"""
import argparse
import copy

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import Compose  # noqa: E402
from mmengine.registry import MODELS, DefaultScope  # noqa: E402

import mmkd  # noqa: F401,E402
from mmkd.distillers import model_config  # noqa: E402
from mmkd.losses import ACAMKDLoss  # noqa: E402


def load_inputs(cfg, image: str):
    """The image through the config's test pipeline (no annotations)."""
    dataset = cfg.test_dataloader.dataset
    steps = [
        copy.deepcopy(t) for t in dataset.pipeline
        if 'Annotations' not in t['type']
    ]
    for step in steps:  # metadata keys that only a dataset would provide
        if 'meta_keys' in step:
            step['meta_keys'] = ('img_path', 'ori_shape', 'img_shape',
                                 'scale_factor')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        pipeline = Compose(steps)
    data = pipeline(dict(img_path=image, img_id=0, seg_fields=[]))
    return dict(inputs=[data['inputs']], data_samples=[data['data_samples']])


def acam_entry(model, name=None):
    for key, entry in model.distill_losses.items():
        if isinstance(entry.loss, ACAMKDLoss) and name in (None, key):
            return entry
    raise KeyError(f'no ACAMKDLoss entry {name or ""} in the config losses '
                   f'{list(model.distill_losses)}')


@torch.no_grad()
def spatial_masks(model, batch, entry_name=None):
    """Record index -> (M, H, W) spatial masks of the first image, and the
    preprocessed image (H, W, 3) in [0, 1]."""
    entry = acam_entry(model, entry_name)
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    teacher = model._teacher_records(inputs, samples)[entry.teacher_tap]
    with model.student_taps:
        model.student(inputs, samples, mode='tensor')
    student = model.student_taps.pop()[entry.student_tap]
    for connector in entry.connectors:
        student = connector(student, teacher)
    masks = entry.loss.masks(student, teacher)
    img = inputs[0].permute(1, 2, 0).float().cpu().numpy()
    img = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
    h, w = img.shape[:2]
    out = {}
    for level, (_, mask_s) in masks.items():
        up = F.interpolate(mask_s[:1], size=(h, w), mode='nearest')
        out[level] = up[0].cpu().numpy()
    return out, img


def draw(masks, img, levels, out):
    levels = levels or sorted(masks)
    missing = [lv for lv in levels if lv not in masks]
    if missing:
        raise ValueError(f'--levels {missing}: not distilled by this entry; '
                         f'its levels are {sorted(masks)}')
    m = masks[levels[0]].shape[0]
    fig, axes = plt.subplots(
        len(levels),
        m + 1,
        figsize=(2.2 * (m + 1), 2.0 * len(levels)),
        squeeze=False)
    gray = img.mean(-1)
    for row, level in zip(axes, levels):
        row[0].imshow(img)
        row[0].set_title(f'level {level}', fontsize=8)
        for i, ax in enumerate(row[1:]):
            ax.imshow(gray, cmap='gray')
            ax.imshow(masks[level][i], cmap='magma', vmin=0, vmax=1, alpha=0.6)
            ax.set_title(
                f'M^s_{i} mean {masks[level][i].mean():.3f}', fontsize=7)
        for ax in row:
            ax.axis('off')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return levels


def add_model_args(parser, checkpoint_help='a Distiller checkpoint'):
    """The model options the drawing tools share."""
    parser.add_argument('--checkpoint', help=checkpoint_help)
    parser.add_argument(
        '--arm', help='the arm of a mmkd.DistillComparison config to draw')
    parser.add_argument('--no-teacher-checkpoint', action='store_true')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. '
        'model.teacher.checkpoint=PATH')


def load_model(args):
    """The config (with ``--cfg-options``) and its model in eval mode, with
    ``--checkpoint`` loaded; ``--arm`` picks a comparison's arm."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.no_teacher_checkpoint:
        cfg.model.load_teacher_checkpoint = False
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_config(cfg))  # as mmengine's Runner
    if args.checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    if args.arm is not None:
        arms = getattr(model, 'arms', None)
        if arms is None or args.arm not in arms:
            raise ValueError(f'--arm {args.arm}: the config builds no such '
                             f'comparison arm (arms: '
                             f'{list(arms) if arms is not None else None})')
        model = arms[args.arm]
    return cfg, model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a Distiller config with ACAMKDLoss')
    parser.add_argument('image')
    parser.add_argument('--entry', help='the loss entry, if several')
    parser.add_argument('--levels', type=int, nargs='+')
    parser.add_argument('--out', default='acam_masks.png')
    add_model_args(parser)
    args = parser.parse_args(argv)

    cfg, model = load_model(args)
    masks, img = spatial_masks(model, load_inputs(cfg, args.image), args.entry)
    drawn = draw(masks, img, args.levels, args.out)
    print(f'wrote {args.out}: levels {drawn} of {sorted(masks)}')


if __name__ == '__main__':
    main()
