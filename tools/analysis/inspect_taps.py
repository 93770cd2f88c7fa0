"""Find tap paths for a distillation config: every module of the student
and the teacher(s) with its output shape, then each loss's two tapped
shapes, whether they fit, and the connector to add if they do not.

    python tools/analysis/inspect_taps.py CONFIG [--filter STR] [--size H W]
        [--batch N] [--cfg-options k=v ...]

Models are built without checkpoints (shapes do not depend on weights) and
run one fake batch (random images, labels or boxes of the config's classes)
at the config's crop size (segmentation: the preprocessor's ``size``) or
``--size``. ``--filter`` keeps the module paths that contain STR.
"""
import argparse
from typing import Dict, List

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, DefaultScope

import mmkd  # noqa: F401  (registers mmkd; mmkd:: configs)
from mmkd.distillers import model_config
from mmkd.distillers.connectors import connector_hint
from mmkd.utils import (fake_batch, fit_preprocessor, is_distiller_config,
                        num_classes_of)


def describe(value) -> str:
    """A record's shape: ``(2, 256, 8, 8)``, or a tuple/list of them."""
    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    if isinstance(value, (tuple, list)):
        inner = ', '.join(describe(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    return type(value).__name__


class ShapeRecorder:
    """Forward hooks on every module: the first input and output of each."""

    def __init__(self, model: nn.Module) -> None:
        self.outputs: Dict[str, object] = {}
        self.inputs: Dict[str, object] = {}
        self.calls: Dict[str, int] = {}
        self.handles = [
            module.register_forward_hook(self._hook(name))
            for name, module in model.named_modules() if name
        ]

    def _hook(self, name: str):

        def hook(module, args, output):
            self.calls[name] = self.calls.get(name, 0) + 1
            if name not in self.outputs:
                self.outputs[name] = output
                self.inputs[name] = args[0] if len(args) == 1 else args

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def record_shapes(model: nn.Module, data: dict) -> ShapeRecorder:
    recorder = ShapeRecorder(model)
    try:
        with torch.no_grad():
            model(data['inputs'], data['data_samples'], mode='tensor')
    finally:
        recorder.remove()
    return recorder


def fit(entry, student, teacher) -> str:
    """Whether the student record, after the entry's connectors, has the
    teacher's shape; else the connector to add."""
    if not (isinstance(student, torch.Tensor)
            and isinstance(teacher, torch.Tensor)):
        return ('records are not single tensors: the loss must accept '
                f'{describe(student)} and {describe(teacher)}')
    try:
        for connector in entry.connectors:
            student = connector(student, teacher)
    except Exception as exc:  # a connector that does not fit the record
        return f'a connector fails on it: {exc}'
    if student.shape == teacher.shape:
        return f'fits: {describe(student)}'
    return (f'does not fit: {describe(student)} vs {describe(teacher)}; add '
            f'{connector_hint(student.shape, teacher.shape)}')


def tapped(recorder: ShapeRecorder, tap):
    source = recorder.outputs if tap.source == 'output' else recorder.inputs
    if tap.path not in source:
        return None
    return source[tap.path]


def report(model, data, pattern: str) -> List[str]:
    lines: List[str] = []
    models = {'student': model.student}
    models.update(
        {name: teacher.model
         for name, teacher in model.teachers.items()})
    recorders = {}
    for name, module in models.items():
        module.eval()  # no dropout, BN with its (random) running stats
        recorders[name] = recorder = record_shapes(module, data)
        lines.append(f'== {name}: {type(module).__name__} ==')
        width = max((len(p) for p in recorder.outputs), default=0)
        for path, output in recorder.outputs.items():
            if pattern in path:
                calls = recorder.calls[path]
                times = f'  (x{calls})' if calls > 1 else ''
                lines.append(f'{path:{width}s}  {describe(output)}{times}')
    lines.append('== losses ==')
    for name, entry in model.distill_losses.items():
        s_tap, t_tap = entry.student_tap, entry.teacher_tap
        student = tapped(recorders['student'], s_tap)
        teacher = tapped(recorders[t_tap.model], t_tap)
        lines.append(f'{name}: student {s_tap.describe()} '
                     f'{describe(student)}, {t_tap.model} '
                     f'{t_tap.describe()} {describe(teacher)}')
        if student is None or teacher is None:
            lines.append('  a tapped module did not run in a tensor-mode '
                         'forward; it may still run in the loss forward')
        else:
            lines.append('  ' + fit(entry, student, teacher))
    return lines


def main(argv=None) -> List[str]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--filter', default='', help='keep paths with STR')
    parser.add_argument('--size', type=int, nargs=2, help='input H W')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not is_distiller_config(cfg):
        raise SystemExit(f'{args.config} is not a mmkd.Distiller config')
    cfg.model.load_teacher_checkpoint = False
    scope = cfg.get('default_scope')
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_config(cfg))
    size = args.size or getattr(model.data_preprocessor, 'size', None) \
        or (256, 256)
    fit_preprocessor(model.data_preprocessor, size)
    batch = fake_batch(model.student_scope or scope, tuple(size), args.batch,
                       num_classes_of(model.student))
    data = model.data_preprocessor(batch, False)
    lines = [f'{args.config}: batch {describe(data["inputs"])}'] + report(
        model, data, args.filter)
    print('\n'.join(lines))
    return lines


if __name__ == '__main__':
    main()
