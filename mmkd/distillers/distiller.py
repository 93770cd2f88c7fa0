"""The teacher-student Distiller (see docs/config.md for every field)."""
import copy
import difflib
import inspect
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import (BaseDataPreprocessor, BaseModel,
                            revert_sync_batchnorm)
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmengine.utils import is_list_of

from mmkd.registry import MODELS
from .builder import build_model
from .builder import load_teacher_checkpoint as _load_teacher_weights
from .preprocess import normalisation_of, renormalise
from .taps import FeatureTaps, StopForward, Tap, parse_tap

__all__ = ['Distiller']

DISTILL_PREFIX = 'distill.'
PRECISIONS = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)


def _cpu_has_bf16() -> bool:
    """Whether this CPU has native bfloat16 (AVX512-BF16 or AMX) kernels."""
    cpu = torch.cpu
    return bool(
        getattr(cpu, '_is_avx512_bf16_supported', lambda: False)()
        or getattr(cpu, '_is_amx_tile_supported', lambda: False)())


def _to_float32(record):
    """A teacher record in float32 (tensors nested in tuples/lists too)."""
    if isinstance(record, torch.Tensor):
        return record.float() if record.is_floating_point() else record
    if isinstance(record, (tuple, list)):
        return type(record)(_to_float32(r) for r in record)
    if isinstance(record, dict):
        return {k: _to_float32(v) for k, v in record.items()}
    return record


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


def _takes_data_samples(loss: nn.Module) -> bool:
    """Whether ``loss.forward`` has a ``data_samples`` parameter.

    MMDetection's and MMSegmentation's own losses take other arguments in
    third place (``weight``, ``avg_factor``), so ``data_samples`` is passed
    by name, and only to a loss that asks for it.
    """
    try:
        params = inspect.signature(loss.forward).parameters
    except (TypeError, ValueError):
        return False
    return 'data_samples' in params


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
        self.pass_data_samples = _takes_data_samples(self.loss)
        #: Outputs of a dict-returning loss that are logged, never summed.
        self.statistics = frozenset(getattr(self.loss, 'statistics', ()))

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
        if self.pass_data_samples:
            return self.loss(student, teacher, data_samples=data_samples)
        return self.loss(student, teacher)

    def named_outputs(self, value) -> Dict[str, Tuple[torch.Tensor, bool]]:
        """Log keys of what the loss returned: ``key -> (value, is_term)``.

        A tensor is one term, ``distill.<name>``; a dict gives
        ``distill.<name>_<key>`` per entry (a leading ``loss_`` dropped),
        each a term unless the loss declares it a statistic.
        """
        if isinstance(value, torch.Tensor):
            return {DISTILL_PREFIX + self.name: (value, True)}
        if isinstance(value, dict):
            unknown = self.statistics - set(value)
            if unknown:
                raise KeyError(
                    f'loss {self.name!r} declares statistics '
                    f'{sorted(unknown)} it did not return (it returned '
                    f'{sorted(value)})')
            out = {}
            for key, item in value.items():
                suffix = key[5:] if key.startswith('loss_') else key
                log_key = f'{DISTILL_PREFIX}{self.name}_{suffix}'
                if log_key in out:
                    raise KeyError(
                        f'loss {self.name!r} returns both {key!r} and a key '
                        f'that differs only by the loss_ prefix; both would '
                        f'be logged as {log_key!r}. Rename one of them')
                out[log_key] = (item, key not in self.statistics)
            return out
        raise TypeError(f'loss {self.name!r} should return a Tensor or a dict'
                        f' of Tensors, but got {type(value).__name__}')


@MODELS.register_module()
class Distiller(BaseModel):
    """A student trained with its own losses plus distillation losses from a
    frozen, hidden teacher.

    The teacher is not a registered sub-module: it is absent from
    ``state_dict``, ``parameters()`` (so from the optimizer and DDP) and
    SyncBN conversion, is kept in ``eval()`` and runs under ``no_grad``, but
    moves with ``.to()``/``.cuda()``. A deep copy (``EMAHook``'s averaged
    model) shares it instead of copying it. Prediction and evaluation run the
    student alone.

    Args:
        student (dict): ``config`` (path: local file or ``mmseg::...``)
            and/or ``model`` (a model dict; with a config, overrides merged
            into its model), optional ``scope``.
        teacher (dict): Same fields plus ``checkpoint`` (local path or URL),
            ``strict`` (bool, default True: every parameter and buffer the
            teacher taps depend on must be in the checkpoint) and
            ``preprocessing`` ('student', default: the teacher gets the
            student's batch, so both must normalise alike; 'own': the
            student's batch is mapped to the teacher's normalisation).
        losses (dict): ``name -> loss config``; each has ``type``,
            ``student`` and ``teacher`` tap paths (a path or
            ``dict(path=, source='output'|'input', copy=False)``), optional
            ``connector`` (a dict or list of dicts); other keys go to the
            loss.
        load_teacher_checkpoint (bool): Load ``teacher.checkpoint``. Off in
            ``tools/test.py``, where the teacher is not used.
            Defaults to True.
        teacher_stop_early (bool): End the teacher forward once every teacher
            tap has fired. Defaults to True.
        data_preprocessor: Must be None (the student's is used).
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
        # Checkpoint keys the teacher misses; checked against what the taps
        # depend on in the first step (see _check_teacher_dependencies).
        self._teacher_missing: List[str] = []
        if load_teacher_checkpoint:
            if not teacher.get('checkpoint'):
                raise ValueError(
                    'teacher.checkpoint is not set: a distillation teacher '
                    'must be trained; give a local path or URL')
            missing = _load_teacher_weights(teacher_model,
                                            teacher['checkpoint'])
            if teacher.get('strict', True):
                self._teacher_missing = missing
        # The teacher never trains: plain BN, no grads, hidden from nn.Module.
        teacher_model = revert_sync_batchnorm(teacher_model)
        teacher_model.eval()  # not chained: some train() return None
        teacher_model.requires_grad_(False)
        object.__setattr__(self, 'teacher', teacher_model)
        self._teacher_normalisation = self._check_preprocessing(
            teacher.get('preprocessing', 'student'))
        precision = teacher.get('precision', 'fp32')
        if precision not in PRECISIONS:
            raise ValueError(f'teacher.precision should be one of '
                             f'{sorted(PRECISIONS)}, but got {precision!r}')
        #: dtype the teacher's weights are cast to once; records reach the
        #: losses in float32 whatever it is.
        self.teacher_dtype = PRECISIONS[precision]
        teacher_model.to(self.teacher_dtype)

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
        self._warned_bf16 = False
        #: Global factor on every distillation loss, set by
        #: ``mmkd.DistillScheduleHook``.
        self.distill_scale = 1.0
        # Log keys of the distillation outputs -> True for a term (summed
        # into the total), False for a statistic (logged only). Kept from the
        # last step, so a stopped step logs the same keys.
        self._distill_keys: Dict[str, Dict[str, bool]] = {}

    def _check_preprocessing(self, mode: str):
        """Compare the two normalisations; returns the (student, teacher)
        pair to map between, or None when the teacher takes the student's
        batch as it is."""
        if mode not in ('student', 'own'):
            raise ValueError(f"teacher.preprocessing should be 'student' or "
                             f"'own', but got {mode!r}")
        student = normalisation_of(self.student)
        teacher = normalisation_of(self.teacher)
        if mode == 'student':
            if student and teacher and student != teacher:
                raise ValueError(
                    f'the teacher normalises its inputs differently from the'
                    f' student (teacher: {teacher.describe()}; student: '
                    f'{student.describe()}), so it would see a batch it was '
                    f'not trained on. Give both configs the same '
                    f"data_preprocessor, or set teacher=dict(..., "
                    f"preprocessing='own') to map the student's batch to "
                    f"the teacher's normalisation")
            return None
        if student is None or teacher is None:
            which = 'teacher' if teacher is None else 'student'
            raise ValueError(
                f"teacher.preprocessing='own' needs the {which} to have a "
                f'data_preprocessor with mean/std (a BaseModel such as '
                f'mmpretrain.ImageClassifier or mmseg.EncoderDecoder)')
        return None if student == teacher else (student, teacher)

    # --- the hidden teacher follows the model, but never trains ----------
    def train(self, mode: bool = True) -> 'Distiller':
        super().train(mode)
        self.teacher.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)
        if self.teacher_dtype != torch.float32:  # .float() keeps it low
            self.teacher.to(self.teacher_dtype)
        return self

    def _set_device(self, device: torch.device) -> None:
        super()._set_device(device)
        self.teacher.apply(lambda m: setattr(m, '_device', device) if
                           isinstance(m, BaseDataPreprocessor) else None)

    def __deepcopy__(self, memo):
        """Copy everything but the frozen teacher, which the copy shares:
        ``EMAHook`` deep-copies the model for its average and must not hold
        a second teacher."""
        memo[id(self.teacher)] = self.teacher
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    # --- forward ------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    def _teacher_inputs(self, inputs, data_samples):
        if self._teacher_normalisation is None:
            return inputs
        shapes = [s.metainfo.get('img_shape', inputs.shape[-2:])
                  for s in data_samples]
        return renormalise(inputs, shapes, *self._teacher_normalisation)

    def _teacher_precision(self, inputs: torch.Tensor) -> torch.Tensor:
        dtype = self.teacher_dtype
        if dtype == torch.float32:
            return inputs
        if inputs.device.type == 'cpu':
            if dtype == torch.float16:
                raise ValueError(
                    "teacher.precision='fp16' on the CPU: PyTorch has no fast "
                    "CPU kernels for float16, so the teacher would be slower"
                    " than in fp32. Use precision='bf16' on CPUs (fp16 is "
                    'for GPUs)')
            if not _cpu_has_bf16() and not self._warned_bf16:
                self._warned_bf16 = True
                print_log(
                    "teacher.precision='bf16' on a CPU without AVX512-BF16 or"
                    ' AMX: bfloat16 convolutions run on emulated kernels, '
                    'typically several times slower than float32 (see '
                    "docs/performance.md); use precision='fp32' here",
                    logger='current',
                    level=logging.WARNING)
        return inputs.to(dtype)

    @torch.no_grad()
    def _teacher_records(self, inputs, data_samples) -> Dict[Tap, object]:
        inputs = self._teacher_inputs(inputs, data_samples)
        inputs = self._teacher_precision(inputs)
        check = self._watch_teacher_dependencies()
        try:
            with self.teacher_taps:
                if isinstance(self.teacher, BaseModel):
                    self.teacher(inputs, data_samples, mode='tensor')
                else:
                    self.teacher(inputs)
        except StopForward:
            pass
        finally:
            if check is not None:
                check.stop()
        records = self.teacher_taps.pop()
        if check is not None:
            check.raise_if_needed()
        if self.teacher_dtype != torch.float32:
            records = {tap: _to_float32(r) for tap, r in records.items()}
        return records

    def _watch_teacher_dependencies(self) -> Optional['_MissingKeyWatch']:
        """In the first step, watch the modules whose checkpoint keys are
        missing; any that runs before the last teacher tap fires feeds the
        distilled features with untrained weights."""
        if not self._teacher_missing:
            return None
        watch = _MissingKeyWatch(self.teacher, self._teacher_missing,
                                 self.teacher_taps)
        self._teacher_missing = []  # checked once
        return watch

    def loss(self, inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]]) -> dict:
        """Student losses plus ``distill.*`` outputs, one dict.

        :meth:`parse_losses` sums the student's losses (by mmengine's rule,
        keys containing ``loss``) and every distillation term whatever its
        name; distillation statistics are only logged.
        """
        scale = float(self.distill_scale)
        if scale == 0:
            # Distillation stopped: skip the teacher, keep every key and
            # give trainable loss parts a (zero) gradient for DDP.
            losses = self.student.loss(inputs, data_samples)
            zero = sum(p.sum() for p in self.distill_losses.parameters()) * 0.
            for name in self.distill_losses:
                keys = self._distill_keys.get(
                    name, {DISTILL_PREFIX + name: True})
                for key in keys:
                    losses[key] = zero + inputs.new_zeros(())
            return losses
        teacher = self._teacher_records(inputs, data_samples)
        with self.student_taps:
            losses = self.student.loss(inputs, data_samples)
        student = self.student_taps.pop()
        for name, entry in self.distill_losses.items():
            value = entry(student[entry.student_tap],
                          teacher[entry.teacher_tap], data_samples)
            named = entry.named_outputs(value)
            clash = set(named) & set(losses)
            if clash:
                raise KeyError(
                    f'distillation loss {name!r} logs {sorted(clash)}, which '
                    f'another loss already produced in this step; rename '
                    f'the entry in losses=dict(...)')
            self._distill_keys[name] = {
                key: is_term
                for key, (_, is_term) in named.items()
            }
            for key, (item, is_term) in named.items():
                losses[key] = item * scale if is_term else item.detach()
        return losses

    def parse_losses(
        self, losses: Dict[str, torch.Tensor]
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Total loss and log values.

        mmengine sums only keys that contain ``loss``; here that rule is
        kept for the student's own outputs (so MMDetection's accuracies stay
        out of the total), while every distillation term is summed whatever
        its entry is called, and distillation statistics never are.
        """
        roles = {
            key: is_term
            for keys in self._distill_keys.values()
            for key, is_term in keys.items()
        }
        log_vars = []
        for key, value in losses.items():
            if isinstance(value, torch.Tensor):
                log_vars.append([key, value.mean()])
            elif is_list_of(value, torch.Tensor):
                log_vars.append([key, sum(v.mean() for v in value)])
            else:
                raise TypeError(f'{key} is not a tensor or list of tensors')
        total = sum(value for key, value in log_vars
                    if (roles[key] if key in roles else 'loss' in key))
        log_vars.insert(0, ['loss', total])
        return total, OrderedDict(log_vars)


class _MissingKeyWatch:
    """Pre-hooks on the teacher modules whose checkpoint keys are missing,
    noting which ran before the last teacher tap fired."""

    def __init__(self, teacher: nn.Module, missing: List[str],
                 taps: FeatureTaps) -> None:
        modules = dict(teacher.named_modules())
        self.keys: Dict[str, List[str]] = {}
        for key in missing:
            owner = key.rsplit('.', 1)[0] if '.' in key else ''
            self.keys.setdefault(owner, []).append(key)
        self.events: List[Optional[str]] = []  # module name, or None: a tap
        self.handles = [
            modules[owner].register_forward_pre_hook(
                lambda *_, owner=owner: self.events.append(owner))
            for owner in self.keys if owner in modules
        ]
        self.taps = taps
        taps.on_record = lambda tap: self.events.append(None)

    def stop(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.taps.on_record = None

    def raise_if_needed(self) -> None:
        last_tap = max(i for i, e in enumerate(self.events) if e is None)
        used = sorted({e for e in self.events[:last_tap] if e is not None})
        keys = [k for owner in used for k in self.keys[owner]]
        if keys:
            raise RuntimeError(
                f'the teacher checkpoint leaves {len(keys)} weights that the '
                f'teacher taps depend on untrained: {keys}. Is it the '
                f'checkpoint of this teacher config? If these weights are '
                f'meant to stay as initialised, set teacher=dict(..., '
                f'strict=False)')
