"""Turn a Distiller checkpoint into a plain checkpoint of the student.

    python tools/export_student.py DISTILLER_CKPT OUT.pth [--config CONFIG]

Keeps the student's weights (``student.`` prefix removed) and its meta
(``dataset_meta``, ``mmkd_version``); drops the teacher (never saved), the
distillation losses and connectors, the optimizer and the runner's state.
With ``--config`` (the distillation config), the student's own model config
is written beside the checkpoint as ``OUT.py`` so that MMSegmentation's or
MMDetection's tools can use it directly.
"""
import argparse
import os.path as osp

import torch

import mmkd  # noqa: F401  (lets weights_only loading read runner checkpoints)
from mmkd.version import __version__

PREFIX = 'student.'


def export_student(src: str, dst: str) -> dict:
    """Write the student part of ``src`` to ``dst`` and return it."""
    ckpt = torch.load(src, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    student = {k[len(PREFIX):]: v for k, v in state.items()
               if k.startswith(PREFIX)}
    if not student:
        raise ValueError(
            f'{src} holds no {PREFIX!r} weights: is it a mmkd Distiller '
            f'checkpoint? (keys start with {sorted(state)[:3]})')
    meta = dict(ckpt.get('meta', {}))
    out_meta = {k: meta[k] for k in ('dataset_meta', 'epoch', 'iter',
                                     'seed', 'experiment_name') if k in meta}
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
    cfg.dump(dst_cfg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='Distiller checkpoint')
    parser.add_argument('out', help='student checkpoint to write (.pth)')
    parser.add_argument(
        '--config',
        help='the distillation config; writes the student config as OUT.py')
    args = parser.parse_args()
    out = export_student(args.checkpoint, args.out)
    print(f'wrote {args.out}: {len(out["state_dict"])} student tensors')
    if args.config:
        dst_cfg = osp.splitext(args.out)[0] + '.py'
        write_student_config(args.config, dst_cfg)
        print(f'wrote {dst_cfg}')


if __name__ == '__main__':
    main()
