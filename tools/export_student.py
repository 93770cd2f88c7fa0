"""Turn a Distiller checkpoint into a plain checkpoint of the student.

    python tools/export_student.py DISTILLER_CKPT OUT.pth [--config CONFIG]
        [--arm NAME]

Keeps the student's weights (``student.`` prefix removed) and its meta
(``dataset_meta``, ``mmkd_version``); drops the teacher (never saved), the
distillation losses and connectors, the optimizer and the runner's state.
With ``--config`` (the distillation config), the student's own model config
is written beside the checkpoint as ``OUT.py`` so that MMSegmentation's or
MMDetection's tools can use it directly. ``--arm NAME`` exports one arm of
a ``mmkd.DistillComparison`` checkpoint.
"""
import argparse
import os.path as osp
from typing import Optional

import torch

import mmkd  # noqa: F401  (lets weights_only loading read runner checkpoints)
from mmkd.version import __version__

PREFIX = 'student.'


def _prefix(state: dict, arm: Optional[str]) -> str:
    if arm is None:
        return PREFIX
    # a Distiller arm holds its student; a plain arm is the student
    distiller = f'arms.{arm}.{PREFIX}'
    return distiller if any(k.startswith(distiller)
                            for k in state) else f'arms.{arm}.'


def export_student(src: str, dst: str, arm: Optional[str] = None) -> dict:
    """Write the student part of ``src`` (of arm ``arm`` of a comparison
    checkpoint) to ``dst`` and return it."""
    ckpt = torch.load(src, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    prefix = _prefix(state, arm)
    student = {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
    if not student:
        what = 'a mmkd Distiller' if arm is None else \
            f'a mmkd.DistillComparison with an arm {arm!r}'
        raise ValueError(f'{src} holds no {prefix!r} weights: is it {what} '
                         f'checkpoint? (keys start with {sorted(state)[:3]})')
    meta = dict(ckpt.get('meta', {}))
    out_meta = {
        k: meta[k]
        for k in ('dataset_meta', 'epoch', 'iter', 'seed', 'experiment_name')
        if k in meta
    }
    out_meta['mmkd_version'] = __version__
    out_meta['exported_from'] = osp.abspath(src)
    out = dict(state_dict=student, meta=out_meta)
    torch.save(out, dst)
    return out


def write_student_config(config: str, dst_cfg: str) -> None:
    """Write the distillation config with its model replaced by the
    student's model, so plain OpenMMLab tools can run it."""
    from mmengine.config import Config

    from mmkd.distillers.builder import load_model_config
    cfg = Config.fromfile(config)
    student = cfg.model.student
    model = None
    if student.get('config'):
        model = load_model_config(student['config']).model
        if student.get('model'):
            merged = Config(dict(model=model))
            merged.merge_from_dict(dict(model=student['model']))
            model = merged.model
    else:
        model = student['model']
    cfg.model = model
    cfg.pop('custom_hooks', None)  # distillation hooks need a Distiller
    if cfg.get('val_cfg', {}).get('type') == 'mmkd.ComparisonValLoop':
        cfg.val_cfg = dict(type='ValLoop')  # one model now
    if cfg.get('optim_wrapper', {}).get('constructor') == \
            'mmkd.ComparisonOptimWrapperConstructor':
        cfg.optim_wrapper.pop('constructor')
    cfg.dump(dst_cfg)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='Distiller checkpoint')
    parser.add_argument('out', help='student checkpoint to write (.pth)')
    parser.add_argument(
        '--config',
        help='the distillation config; writes the student config as OUT.py')
    parser.add_argument(
        '--arm', help='the arm to export from a DistillComparison checkpoint')
    args = parser.parse_args(argv)
    out = export_student(args.checkpoint, args.out, args.arm)
    print(f'wrote {args.out}: {len(out["state_dict"])} student tensors')
    if args.config:
        dst_cfg = osp.splitext(args.out)[0] + '.py'
        write_student_config(args.config, dst_cfg)
        print(f'wrote {dst_cfg}')


if __name__ == '__main__':
    main()
