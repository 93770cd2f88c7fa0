"""A frozen teacher: built, loaded, checked against the student, hidden from
the optimizer, run only as far as its taps, in the precision asked for."""
import copy
import logging
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import (BaseDataPreprocessor, BaseModel,
                            revert_sync_batchnorm)

from .builder import build_model, load_teacher_checkpoint
from .preprocess import normalisation_of, renormalise
from .taps import FeatureTaps, StopForward, Tap, map_tensors

__all__ = [
    'Teacher', 'HidesTeachers', 'build_teachers', 'PRECISIONS',
    'cpu_precision_warning'
]

PRECISIONS = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)


def _cpu_has_bf16() -> bool:
    """Whether this CPU has native bfloat16 (AVX512-BF16 or AMX) kernels."""
    cpu = torch.cpu
    return bool(
        getattr(cpu, '_is_avx512_bf16_supported', lambda: False)()
        or getattr(cpu, '_is_amx_tile_supported', lambda: False)())


def cpu_precision_warning(dtype: torch.dtype, label: str) -> Optional[str]:
    """Raise for float16 on the CPU; for bfloat16 on a CPU without native
    kernels return the warning to log once, else None."""
    if dtype == torch.float16:
        raise ValueError(
            f"{label}: precision='fp16' on the CPU: PyTorch has no fast CPU "
            f'kernels for float16, so the model would be slower than in '
            f"fp32. Use precision='bf16' on CPUs (fp16 is for GPUs)")
    if dtype == torch.bfloat16 and not _cpu_has_bf16():
        return (f"{label}: precision='bf16' on a CPU without AVX512-BF16 or "
                f'AMX: bfloat16 convolutions run on emulated kernels, '
                f'typically several times slower than float32 '
                f"(docs/performance.md); use precision='fp32' here")
    return None


def _to_float32(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.float() if tensor.is_floating_point() else tensor


class Teacher:
    """One teacher of a :class:`~mmkd.distillers.Distiller`.

    Not an ``nn.Module`` on purpose: the Distiller holds it as a plain
    attribute, so the teacher's weights are outside ``state_dict()``,
    ``parameters()`` (optimizer, DDP) and SyncBN conversion.

    Args:
        name (str): 'teacher' for ``teacher=``, else its key in
            ``teachers=``; loss taps name it as ``'name:module.path'``.
        spec (dict): ``config``/``model``/``scope`` as for the student, and
            ``checkpoint``, ``strict``, ``preprocessing``, ``precision``
            (docs/config.md).
        student (nn.Module): The student, whose normalisation is compared.
        load_checkpoint (bool): Load ``spec['checkpoint']``.
    """

    def __init__(self, name: str, spec: dict, student: nn.Module,
                 load_checkpoint: bool) -> None:
        self.name = name
        self.label = 'teacher' if name == 'teacher' else f'teacher {name!r}'
        model, _ = build_model(spec, 'teacher')
        #: Checkpoint keys left unfilled; checked in the first step against
        #: what the taps depend on (:class:`_MissingKeyWatch`).
        self.missing: List[str] = []
        if load_checkpoint:
            if not spec.get('checkpoint'):
                raise ValueError(
                    f'{self.label}: checkpoint is not set: a distillation '
                    f'teacher must be trained; give a local path or URL')
            missing = load_teacher_checkpoint(model, spec['checkpoint'])
            if spec.get('strict', True):
                self.missing = missing
        # The teacher never trains: plain BN, no grads, eval mode.
        model = revert_sync_batchnorm(model)
        model.eval()  # not chained: some train() return None
        model.requires_grad_(False)
        self.model = model
        self.normalisation = self._check_preprocessing(
            student, spec.get('preprocessing', 'student'))
        precision = spec.get('precision', 'fp32')
        if precision not in PRECISIONS:
            raise ValueError(f'{self.label}: precision should be one of '
                             f'{sorted(PRECISIONS)}, but got {precision!r}')
        #: dtype the weights are cast to, once; records reach the losses in
        #: float32 whatever it is.
        self.dtype = PRECISIONS[precision]
        model.to(self.dtype)
        self.taps: Optional[FeatureTaps] = None
        self._warned_bf16 = False
        #: Set by :class:`~mmkd.distillers.DistillComparison`, whose arms
        #: share this teacher: the records of a batch are computed once and
        #: handed to every arm until :meth:`forget` is called.
        self.reuse_records = False
        self._memo = None

    def tap(self, taps: List[Tap], stop_early: bool) -> None:
        """Attach the taps the losses read from this teacher (added to those
        of other Distillers that share it)."""
        if self.taps is not None:
            taps = self.taps.taps + list(taps)
        self.taps = FeatureTaps(
            self.model, taps, self.label, stop_early=stop_early)

    def forget(self) -> None:
        """Drop the records kept for reuse."""
        self._memo = None

    def _check_preprocessing(self, student: nn.Module, mode: str):
        """The (student, teacher) normalisations to map between, or None
        when the teacher takes the student's batch as it is."""
        if mode not in ('student', 'own'):
            raise ValueError(f"{self.label}: preprocessing should be "
                             f"'student' or 'own', but got {mode!r}")
        mine, theirs = normalisation_of(self.model), normalisation_of(student)
        if mode == 'student':
            if mine and theirs and mine != theirs:
                raise ValueError(
                    f'the {self.label} normalises its inputs differently from'
                    f' the student ({self.label}: {mine.describe()}; '
                    f'student: {theirs.describe()}), so it would see a batch '
                    f'it was not trained on. Give both configs the same '
                    f"data_preprocessor, or set preprocessing='own' in the "
                    f"teacher's dict to map the student's batch to the "
                    f"teacher's normalisation")
            return None
        if mine is None or theirs is None:
            which = self.label if mine is None else 'student'
            raise ValueError(
                f"{self.label}: preprocessing='own' needs the {which} to "
                f'have a data_preprocessor with mean/std (a BaseModel such '
                f'as mmpretrain.ImageClassifier or mmseg.EncoderDecoder)')
        return None if mine == theirs else (theirs, mine)

    def follow(self, fn) -> None:
        """Apply what ``nn.Module._apply`` applies to the Distiller (device
        moves), keeping the teacher's own precision."""
        self.model._apply(fn)
        if self.dtype != torch.float32:  # .float() keeps it low
            self.model.to(self.dtype)

    def _inputs(self, inputs: torch.Tensor, data_samples) -> torch.Tensor:
        if self.normalisation is not None:
            shapes = [
                s.metainfo.get('img_shape', inputs.shape[-2:])
                for s in data_samples
            ]
            inputs = renormalise(inputs, shapes, *self.normalisation)
        if self.dtype == torch.float32:
            return inputs
        if inputs.device.type == 'cpu':
            slow = cpu_precision_warning(self.dtype, self.label)
            if slow and not self._warned_bf16:
                self._warned_bf16 = True
                print_log(slow, logger='current', level=logging.WARNING)
        return inputs.to(self.dtype)

    @torch.no_grad()
    def records(self, inputs: torch.Tensor, data_samples,
                **forward_kwargs) -> Dict[Tap, object]:
        """Run the teacher as far as its taps; the records in float32.

        ``forward_kwargs`` go to the teacher's forward as they are (e.g. the
        mask noise G2SD's generic stage shares between teacher and student);
        records computed with them are not reused across callers.
        """
        if (self._memo is not None and self._memo[0] is inputs
                and not forward_kwargs):
            return self._memo[1]
        batch = inputs
        inputs = self._inputs(inputs, data_samples)
        watch = None
        if self.missing:  # checked once, in the first step
            watch = _MissingKeyWatch(self.model, self.missing, self.taps,
                                     self.label)
            self.missing = []
        try:
            with self.taps:
                if isinstance(self.model, BaseModel):
                    self.model(
                        inputs, data_samples, mode='tensor', **forward_kwargs)
                else:
                    self.model(inputs, **forward_kwargs)
        except StopForward:
            pass
        finally:
            if watch is not None:
                watch.stop()
        records = self.taps.pop()
        if watch is not None:
            watch.raise_if_needed()
        if self.dtype != torch.float32:
            records = {
                tap: map_tensors(_to_float32, r)
                for tap, r in records.items()
            }
        if self.reuse_records and not forward_kwargs:
            self._memo = (batch, records)
        return records


def build_teachers(teacher: Optional[dict], teachers: Optional[dict],
                   student: nn.Module, load_checkpoint: bool,
                   owner: str) -> Dict[str, 'Teacher']:
    """The teachers of ``teacher=`` (named 'teacher') and ``teachers=``;
    a value that is already a :class:`Teacher` (shared by a comparison's
    arms) is used as it is."""
    specs = dict(teachers or {})
    if 'teacher' in specs:
        raise ValueError("teachers=dict(teacher=...) is reserved for "
                         "teacher=; give that teacher another name")
    if teacher is not None:
        specs = dict(teacher=teacher, **specs)
    if not specs:
        raise ValueError(f'a {owner} needs teacher=dict(...) or '
                         'teachers=dict(name=dict(...), ...)')
    return {
        name: spec if isinstance(spec, Teacher) else Teacher(
            name, spec, student, load_checkpoint)
        for name, spec in specs.items()
    }


class HidesTeachers:
    """For a model that holds :class:`Teacher` objects in ``self.teachers``
    (a plain dict, so they are not sub-modules): they follow the model's
    device moves, stay in eval mode, and a deep copy (``EMAHook``'s
    averaged model) shares them instead of copying them."""

    def train(self, mode: bool = True):
        super().train(mode)
        for hidden in self.teachers.values():
            hidden.model.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for hidden in self.__dict__.get('teachers', {}).values():
            hidden.follow(fn)
        return self

    def _set_device(self, device: torch.device) -> None:
        super()._set_device(device)
        for hidden in self.teachers.values():
            hidden.model.apply(lambda m: setattr(m, '_device', device) if
                               isinstance(m, BaseDataPreprocessor) else None)

    def __deepcopy__(self, memo):
        for hidden in self.teachers.values():
            memo[id(hidden.model)] = hidden.model
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new


class _MissingKeyWatch:
    """Pre-hooks on the teacher modules whose checkpoint keys are missing,
    noting which ran before the last teacher tap fired: those feed the
    distilled features with untrained weights."""

    def __init__(self, teacher: nn.Module, missing: List[str],
                 taps: FeatureTaps, label: str) -> None:
        modules = dict(teacher.named_modules())
        self.label = label
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
                f'the {self.label} checkpoint leaves {len(keys)} weights that '
                f'the {self.label} taps depend on untrained: {keys}. Is it '
                f'the checkpoint of this teacher config? If these weights '
                f'are meant to stay as initialised, set strict=False in the '
                f"teacher's dict")
