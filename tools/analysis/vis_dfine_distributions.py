"""Plot FDR per-edge distributions of a few boxes across decoder layers.

For the ``--num-boxes`` highest-scoring queries of one image, draws the image
with the final boxes and, per box, four panels (left, top, right, bottom
edge) with the softmax over the N + 1 bins at every decoder layer, plotted
against the edge offset W(n) / R in units of the initial box size.

Example::

    python tools/analysis/vis_dfine_distributions.py \
        configs/dfine/dfine_dino-4scale_r18_1xb4-4e_bccd.py \
        work_dirs/dfine_bccd/epoch_4.pth \
        ../shared/data/bccd/BCCD/JPEGImages/BloodImage_00000.jpg \
        --out docs/methods/dfine_distributions.png
"""
import argparse

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--out', default='dfine_distributions.png')
    parser.add_argument('--num-boxes', type=int, default=3)
    return parser.parse_args()


def main():
    args = parse_args()
    import mmcv
    from mmdet.apis import init_detector
    from mmdet.utils import register_all_modules
    from mmengine.dataset import Compose, pseudo_collate

    register_all_modules()
    import mmkd  # noqa: F401

    model = init_detector(args.config, None, device='cpu')
    # mmkd allow-lists what runner checkpoints hold: weights_only stays on
    ckpt = torch.load(args.checkpoint, map_location='cpu')
    model.load_state_dict(ckpt.get('state_dict', ckpt))
    model.eval()
    cfg = model.cfg
    pipeline = Compose([
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] != 'LoadAnnotations'
    ])
    data = pipeline(dict(img_path=args.image, img_id=0))
    batch = model.data_preprocessor(pseudo_collate([data]), False)
    with torch.no_grad():
        feats = model.extract_feat(batch['inputs'])
        out = model.forward_transformer(feats, batch['data_samples'])
        scores = model.bbox_head.cls_branches[len(out['fdr_logits']) - 1](
            out['hidden_states'][-1]).sigmoid().amax(-1)[0]
    top = scores.topk(args.num_boxes).indices
    head = model.bbox_head
    w = (head.project / head.reg_scale).numpy()
    num_layers = out['fdr_logits'].shape[0]
    img = mmcv.imconvert(mmcv.imread(args.image), 'bgr', 'rgb')
    meta = batch['data_samples'][0].metainfo
    sx = img.shape[1] / meta['img_shape'][1]
    sy = img.shape[0] / meta['img_shape'][0]

    fig = plt.figure(figsize=(16, 3.2 * (args.num_boxes + 1)))
    ax = fig.add_subplot(args.num_boxes + 1, 1, 1)
    ax.imshow(img)
    colors = plt.cm.tab10.colors
    for k, q in enumerate(top.tolist()):
        cx, cy, bw, bh = out['fdr_boxes'][-1, 0, q].tolist()
        h_img, w_img = meta['img_shape']
        x1, y1 = (cx - bw / 2) * w_img * sx, (cy - bh / 2) * h_img * sy
        ax.add_patch(
            plt.Rectangle((x1, y1),
                          bw * w_img * sx,
                          bh * h_img * sy,
                          fill=False,
                          color=colors[k],
                          lw=2))
        ax.text(x1, y1, f'box {k} ({scores[q]:.2f})', color=colors[k])
    ax.axis('off')
    edges = ('left', 'top', 'right', 'bottom')
    cmap = plt.cm.viridis
    for k, q in enumerate(top.tolist()):
        prob = out['fdr_logits'][:, 0, q].reshape(num_layers, 4,
                                                  -1).softmax(-1)
        for e in range(4):
            ax = fig.add_subplot(args.num_boxes + 1, 4, 4 * (k + 1) + e + 1)
            for lid in range(num_layers):
                ax.plot(
                    w,
                    prob[lid, e].numpy(),
                    marker='.',
                    color=cmap(lid / max(num_layers - 1, 1)),
                    label=f'layer {lid}')
            ax.set_title(f'box {k}: {edges[e]} edge', color=colors[k])
            ax.set_xlabel('offset W(n)/R (initial box sizes)')
            if e == 0:
                ax.set_ylabel('probability')
            if k == 0 and e == 3:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
