"""Small labelled classification sets cut from the detection and
segmentation data, to pretrain an MMPretrain teacher here whose label space
differs from the student's (ProC-KD's cross-task setting at CPU scale).

    python tools/dataset_converters/classification_crops.py bccd \
        ../shared/data/bccd data/bccd_cells
    python tools/dataset_converters/classification_crops.py camvid \
        ../shared/data/camvid_240x180 data/camvid_tiles

* ``bccd``: one crop per annotated cell (RBC, WBC, Platelets), the box
  grown by 10 % each side, resized to ``--size`` square.
* ``camvid``: non-overlapping ``--size`` tiles of each image, labelled by
  their majority class (void ignored) when it covers at least
  ``--min-share`` of the tile; other tiles are skipped.

Writes ``OUT/{train,val}/{class}/{name}.png`` and the annotation lists
``OUT/{train,val}.txt`` (``path label`` per line, labels in the fixed class
order below, so a class absent from a split keeps its index), as read by
MMPretrain's ``CustomDataset(ann_file=..., with_label=True)``.
"""
import argparse
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

CAMVID_CLASSES = ('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree',
                  'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist')
CAMVID_VOID = 11
BCCD_CLASSES = ('RBC', 'WBC', 'Platelets')


def _save(img: Image.Image, out: str, split: str, cls: str, name: str,
          lines: list, label: int) -> None:
    folder = osp.join(out, split, cls)
    os.makedirs(folder, exist_ok=True)
    img.save(osp.join(folder, name + '.png'))
    lines.append(f'{split}/{cls}/{name}.png {label}')


def _write_list(out: str, split: str, lines: list) -> None:
    with open(osp.join(out, f'{split}.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def bccd_crops(root: str, out: str, size: int) -> dict:
    """Cell crops of the BCCD train and val splits; returns counts."""
    counts = {}
    for split in ('train', 'val'):
        lines = []
        with open(osp.join(root, 'coco', f'{split}.json')) as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        files = {i['id']: i['file_name'] for i in coco['images']}
        for ann in coco['annotations']:
            x, y, w, h = ann['bbox']
            if w < 2 or h < 2:
                continue
            path = osp.join(root, 'BCCD', 'JPEGImages', files[ann['image_id']])
            img = Image.open(path).convert('RGB')
            box = (max(0, x - 0.1 * w), max(0, y - 0.1 * h),
                   min(img.width, x + 1.1 * w), min(img.height, y + 1.1 * h))
            crop = img.crop(tuple(int(round(v)) for v in box))
            cls = names[ann['category_id']]
            _save(
                crop.resize((size, size), Image.BILINEAR), out, split, cls,
                f'{ann["id"]:05d}', lines, BCCD_CLASSES.index(cls))
            counts[(split, cls)] = counts.get((split, cls), 0) + 1
        _write_list(out, split, lines)
    return counts


def camvid_tiles(root: str, out: str, size: int, min_share: float) -> dict:
    """Majority-class tiles of the CamVid train and val splits."""
    counts = {}
    for split in ('train', 'val'):
        lines = []
        with open(osp.join(root, f'{split}.txt')) as f:
            names = [line.strip() for line in f if line.strip()]
        for name in names:
            img = Image.open(osp.join(root, split, name + '.png'))
            label = np.asarray(
                Image.open(osp.join(root, split + 'annot', name + '.png')))
            h, w = label.shape
            for top in range(0, h - size + 1, size):
                for left in range(0, w - size + 1, size):
                    tile = label[top:top + size, left:left + size]
                    hist = np.bincount(
                        tile[tile != CAMVID_VOID].ravel(),
                        minlength=len(CAMVID_CLASSES))
                    cls = int(hist.argmax())
                    if hist[cls] < min_share * tile.size:
                        continue
                    crop = img.convert('RGB').crop(
                        (left, top, left + size, top + size))
                    key = (split, CAMVID_CLASSES[cls])
                    _save(crop, out, split, key[1], f'{name}_{top}_{left}',
                          lines, cls)
                    counts[key] = counts.get(key, 0) + 1
        _write_list(out, split, lines)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('source', choices=['bccd', 'camvid'])
    parser.add_argument('root', help='the dataset folder')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--size', type=int, default=60)
    parser.add_argument('--min-share', type=float, default=0.5)
    args = parser.parse_args()
    if args.source == 'bccd':
        counts = bccd_crops(args.root, args.out, args.size)
    else:
        counts = camvid_tiles(args.root, args.out, args.size, args.min_share)
    for (split, cls), n in sorted(counts.items()):
        print(f'{split:5s} {cls:12s} {n}')


if __name__ == '__main__':
    main()
