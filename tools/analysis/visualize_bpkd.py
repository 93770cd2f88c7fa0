"""Draw what BPKD sees on one image: the GT edge band and predictions.

Panels: the image, the ground truth with BPKD's edge band (union over classes
at label resolution, and the soft mask ``M_E`` at logit resolution), then one
prediction per ``--model LABEL CONFIG CHECKPOINT`` (a plain mmseg config or an
mmkd Distiller config: the Distiller predicts with its student).

Example (CamVid, after the gains runs of docs/methods/bpkd.md)::

    python tools/analysis/visualize_bpkd.py \\
        ../shared/data/camvid_240x180/val/0016E5_07959.png \\
        ../shared/data/camvid_240x180/valannot/0016E5_07959.png \\
        --model teacher configs/cwd/pspnet_r18-d8_1xb4-1k_camvid-240x180.py \\
            work_dirs/pspnet_r18-d8_1xb4-1k_camvid-240x180/iter_1000.pth \\
        --model student ... --model BPKD ... \\
        --out docs/methods/images/bpkd_camvid.png
"""
import argparse

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from mmkd.datasets.camvid import PALETTE as CAMVID_PALETTE  # noqa: E402
from mmkd.visualization import colorize, edge_band_maps  # noqa: E402


def predict(config: str, checkpoint: str, image: np.ndarray) -> np.ndarray:
    """(H, W) predicted labels of a config + checkpoint on an RGB image."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.runner import load_checkpoint
    from mmseg.apis import inference_model

    import mmkd  # noqa: F401  (registers mmkd.Distiller)
    from mmkd.distillers import model_config
    from mmkd.utils import student_only
    cfg = Config.fromfile(config)
    student_only(cfg)  # a Distiller predicts with its student
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_config(cfg))
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.cfg = cfg
    model.eval()
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        result = inference_model(model, image[..., ::-1].copy())  # BGR
    return result.pred_sem_seg.data[0].cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image')
    parser.add_argument('annotation', help='label map (PNG of class ids)')
    parser.add_argument(
        '--model',
        nargs=3,
        action='append',
        default=[],
        metavar=('LABEL', 'CONFIG', 'CHECKPOINT'))
    parser.add_argument('--num-classes', type=int, default=11)
    parser.add_argument(
        '--void', type=int, default=11, help='label mapped to ignore (255)')
    parser.add_argument('--kernel-size', type=int, default=7)
    parser.add_argument(
        '--stride',
        type=int,
        default=8,
        help='logit stride for the soft mask panel')
    parser.add_argument('--out', default='bpkd_vis.png')
    args = parser.parse_args()

    image = np.array(Image.open(args.image).convert('RGB'))
    gt = np.array(Image.open(args.annotation)).astype(np.int64)
    gt[gt == args.void] = 255
    band, soft = edge_band_maps(gt, args.num_classes, args.kernel_size,
                                args.stride)
    gt_rgb = colorize(gt, CAMVID_PALETTE)
    overlay = gt_rgb.copy()
    overlay[band] = (255, 255, 255)
    panels = [('image', image), ('GT + edge band (white)', overlay),
              (f'max_c M_E (1/{args.stride} res.)', soft)]
    for label, config, checkpoint in args.model:
        pred = predict(config, checkpoint, image)
        pred_rgb = colorize(pred, CAMVID_PALETTE)
        pred_rgb[gt == 255] //= 3
        acc = float((pred == gt)[gt != 255].mean() * 100)
        ring = band & (gt != 255)
        edge_acc = float((pred == gt)[ring].mean() * 100)
        panels.append(
            (f'{label}\nacc {acc:.1f}%, band acc {edge_acc:.1f}%', pred_rgb))
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.4 * rows))
    for ax in np.ravel(axes):
        ax.axis('off')
    for ax, (title, img) in zip(np.ravel(axes), panels):
        ax.imshow(img, cmap='magma', vmin=0, vmax=1, interpolation='nearest')
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
