"""The teacher-student Distiller (see docs/config.md for every field)."""
import copy
import difflib
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel, revert_sync_batchnorm
from mmengine.structures import BaseDataElement

from mmkd.registry import MODELS
from .builder import build_model
from .builder import load_teacher_checkpoint as _load_teacher_weights
from .taps import FeatureTaps, StopForward, Tap, parse_tap

__all__ = ['Distiller']

DISTILL_PREFIX = 'distill.'


def _build_mmkd(cfg: dict, what: str) -> nn.Module:
    """Build a loss or connector, naming close registered types on a typo."""
    cfg = copy.deepcopy(cfg)
    type_name = cfg.get('type')
    if type_name is None:
        raise ValueError(f'{what} needs a type, e.g. '
                         f"type='mmkd.ChannelWiseDivergence'")
    try:
        return MODELS.build(cfg)
    except KeyError as exc:
        if 'registry' not in str(exc):
            raise
        short = str(type_name).split('.')[-1]
        names = list(MODELS.module_dict)
        close = difflib.get_close_matches(short, names, n=5, cutoff=0.4)
        raise KeyError(
            f'{what}: unknown type {type_name!r}. Registered mmkd types '
            f'close to it: {["mmkd." + c for c in close] or names}') from exc


class _LossEntry(nn.Module):
    """One distillation loss with its taps and optional connectors."""

    def __init__(self, name: str, cfg: dict) -> None:
        super().__init__()
        cfg = copy.deepcopy(dict(cfg))
        for side in ('student', 'teacher'):
            if side not in cfg:
                raise KeyError(
                    f'loss {name!r} asks for no {side} tap: add '
                    f"{side}='module.path' (e.g. 'decode_head.conv_seg') to "
                    f'its config')
        self.student_tap = parse_tap(cfg.pop('student'), f'{name}.student')
        self.teacher_tap = parse_tap(cfg.pop('teacher'), f'{name}.teacher')
        connectors = cfg.pop('connector', None) or []
        if isinstance(connectors, dict):
            connectors = [connectors]
        self.connectors = nn.ModuleList(
            _build_mmkd(c, f'loss {name!r} connector') for c in connectors)
        self.loss = _build_mmkd(cfg, f'loss {name!r}')
        self.name = name

    def forward(self, student, teacher, data_samples):
        for connector in self.connectors:
            student = connector(student, teacher)
        if (isinstance(student, torch.Tensor)
                and isinstance(teacher, torch.Tensor)
                and getattr(self.loss, 'requires_equal_shapes', True)
                and student.shape != teacher.shape):
            raise ValueError(
                f'loss {self.name!r}: student {self.student_tap.path!r} gives '
                f'{tuple(student.shape)} but teacher '
                f'{self.teacher_tap.path!r} gives {tuple(teacher.shape)}. Add '
                f"connector=dict(type='mmkd.ChannelAlignConnector', "
                f'in_channels={student.shape[1]}, '
                f'out_channels={teacher.shape[1]}) for channels and/or '
                f"dict(type='mmkd.SpatialAlignConnector') for size")
        return self.loss(student, teacher, data_samples)


@MODELS.register_module()
class Distiller(BaseModel):
    """A student trained with its own losses plus distillation losses from a
    frozen, hidden teacher.

    The teacher is not a registered sub-module: it is absent from
    ``state_dict``, ``parameters()`` (so from the optimizer, EMA and DDP) and
    SyncBN conversion, is kept in ``eval()`` and runs under ``no_grad``, but
    moves with ``.to()``/``.cuda()``. Prediction and evaluation run the
    student alone.

    Args:
        student (dict): ``config`` (path: local file or ``mmseg::...``)
            and/or ``model`` (a model dict; with a config, overrides merged
            into its model), optional ``scope``.
        teacher (dict): Same fields plus ``checkpoint`` (local path or URL).
        losses (dict): ``name -> loss config``; each has ``type``,
            ``student`` and ``teacher`` tap paths (a path or
            ``dict(path=, source='output'|'input')``), optional ``connector``
            (a dict or list of dicts); other keys go to the loss.
        load_teacher_checkpoint (bool): Load ``teacher.checkpoint``. Off in
            ``tools/test.py``, where the teacher is not used.
            Defaults to True.
        teacher_stop_early (bool): End the teacher forward once every teacher
            tap has fired. Defaults to True.
        data_preprocessor: Ignored if None (the student's is used).
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 losses: dict,
                 load_teacher_checkpoint: bool = True,
                 teacher_stop_early: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        student_model, self.student_scope = build_model(student, 'student')
        if data_preprocessor is not None:
            raise ValueError('Distiller uses the student\'s data_preprocessor;'
                             ' set it in the student config instead')
        super().__init__(
            data_preprocessor=student_model.data_preprocessor,
            init_cfg=init_cfg)
        self.student = student_model
        teacher_model, _ = build_model(teacher, 'teacher')
        if load_teacher_checkpoint:
            if not teacher.get('checkpoint'):
                raise ValueError(
                    'teacher.checkpoint is not set: a distillation teacher '
                    'must be trained; give a local path or URL')
            _load_teacher_weights(teacher_model, teacher['checkpoint'])
        # The teacher never trains: plain BN, no grads, hidden from nn.Module.
        teacher_model = revert_sync_batchnorm(teacher_model)
        teacher_model.eval()  # not chained: some train() return None
        teacher_model.requires_grad_(False)
        object.__setattr__(self, 'teacher', teacher_model)

        if not isinstance(losses, dict) or not losses:
            raise ValueError('losses should be a non-empty dict of '
                             f'name -> loss config, but got {losses!r}')
        self.distill_losses = nn.ModuleDict(
            {name: _LossEntry(name, cfg)
             for name, cfg in losses.items()})
        entries: List[_LossEntry] = list(self.distill_losses.values())
        self.student_taps = FeatureTaps(
            self.student, [e.student_tap for e in entries], 'student')
        self.teacher_taps = FeatureTaps(
            self.teacher, [e.teacher_tap for e in entries],
            'teacher',
            stop_early=teacher_stop_early)
        #: Global factor on every distillation loss, set by
        #: ``mmkd.DistillScheduleHook``.
        self.distill_scale = 1.0
        # Keys each loss produced last time, so a stopped step logs the same.
        self._loss_keys: Dict[str, List[str]] = {}

    # --- the hidden teacher follows the model, but never trains ----------
    def train(self, mode: bool = True) -> 'Distiller':
        super().train(mode)
        self.teacher.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)
        return self

    # --- forward ------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    @torch.no_grad()
    def _teacher_records(self, inputs, data_samples) -> Dict[Tap, object]:
        try:
            with self.teacher_taps:
                if isinstance(self.teacher, BaseModel):
                    self.teacher(inputs, data_samples, mode='tensor')
                else:
                    self.teacher(inputs)
        except StopForward:
            pass
        return self.teacher_taps.pop()

    def loss(self, inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]]) -> dict:
        """Student losses plus ``distill.*`` losses, one dict."""
        scale = float(self.distill_scale)
        if scale == 0:
            # Distillation stopped: skip the teacher, keep every key and
            # give trainable loss parts a (zero) gradient for DDP.
            losses = self.student.loss(inputs, data_samples)
            zero = sum(p.sum() for p in self.distill_losses.parameters()) * 0.
            for name in self.distill_losses:
                for key in self._loss_keys.get(name, [DISTILL_PREFIX + name]):
                    losses[key] = zero + inputs.new_zeros(())
            return losses
        teacher = self._teacher_records(inputs, data_samples)
        with self.student_taps:
            losses = self.student.loss(inputs, data_samples)
        student = self.student_taps.pop()
        for name, entry in self.distill_losses.items():
            value = entry(student[entry.student_tap],
                          teacher[entry.teacher_tap], data_samples)
            named = self._name_losses(name, value)
            self._loss_keys[name] = list(named)
            for key, loss in named.items():
                losses[key] = loss * scale
        return losses

    @staticmethod
    def _name_losses(name: str, value) -> Dict[str, torch.Tensor]:
        if isinstance(value, torch.Tensor):
            return {DISTILL_PREFIX + name: value}
        if isinstance(value, dict):
            out = {}
            for key, loss in value.items():
                suffix = key[5:] if key.startswith('loss_') else key
                out[f'{DISTILL_PREFIX}{name}_{suffix}'] = loss
            return out
        raise TypeError(f'loss {name!r} should return a Tensor or a dict of '
                        f'Tensors, but got {type(value).__name__}')

