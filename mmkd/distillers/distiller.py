"""The teacher-student Distiller (see docs/config.md for every field)."""
import copy
import difflib
import inspect
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmengine.utils import is_list_of

from mmkd.registry import MODELS
from .builder import build_model
from .connectors import connector_hint
from .health import LossBalance, grad_tensors, gradient_health
from .inherit import inherit_from_teacher
from .taps import FeatureTaps, Tap, parse_tap
from .teacher import HidesTeachers, Teacher, build_teachers

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

    def __init__(self,
                 name: str,
                 cfg: dict,
                 default_teacher: str = 'teacher') -> None:
        super().__init__()
        cfg = copy.deepcopy(dict(cfg))
        for side in ('student', 'teacher'):
            if side not in cfg:
                raise KeyError(
                    f'loss {name!r} asks for no {side} tap: add '
                    f"{side}='module.path' (e.g. 'decode_head.conv_seg') to "
                    f'its config')
        self.student_tap = parse_tap(cfg.pop('student'), f'{name}.student')
        self.teacher_tap = parse_tap(
            cfg.pop('teacher'), f'{name}.teacher', default_teacher)
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

    def weight_arg(self, key: str) -> Optional[str]:
        """The loss argument that weights output ``key`` (``edge_weight``
        for BPKD's ``loss_edge``), for messages; None if unknown."""
        suffix = key[len(DISTILL_PREFIX + self.name):].lstrip('_')
        weights = getattr(self.loss, 'weight_args', {})
        for out, arg in weights.items():
            if out == suffix or out == 'loss_' + suffix:
                return arg
        return 'loss_weight' if hasattr(self.loss, 'loss_weight') else None

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
                f'{connector_hint(student.shape, teacher.shape)}')
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
class Distiller(HidesTeachers, BaseModel):
    """A student trained with its own losses plus distillation losses from
    one or several frozen, hidden teachers.

    A teacher is not a registered sub-module: it is absent from
    ``state_dict``, ``parameters()`` (so from the optimizer and DDP) and
    SyncBN conversion, is kept in ``eval()`` and runs under ``no_grad``, but
    moves with ``.to()``/``.cuda()``. A deep copy (``EMAHook``'s averaged
    model) shares the teachers instead of copying them. Prediction and
    evaluation run the student alone.

    Args:
        student (dict): ``config`` (path: local file or ``mmseg::...``)
            and/or ``model`` (a model dict; with a config, overrides merged
            into its model), optional ``scope``. (A built model when a
            :class:`DistillComparison` makes its arms.)
        teacher (dict, optional): Same fields plus ``checkpoint`` (local
            path or URL), ``strict`` (default True: every parameter and
            buffer the teacher taps depend on must be in the checkpoint),
            ``preprocessing`` ('student', default: the teacher gets the
            student's batch, so both must normalise alike; 'own': the
            student's batch is mapped to the teacher's normalisation) and
            ``precision`` ('fp32' default, 'bf16', 'fp16').
        losses (dict): ``name -> loss config``; each has ``type``,
            ``student`` and ``teacher`` tap paths (a path or
            ``dict(path=, source='output'|'input', copy=False)``; a path of
            a named teacher is written ``'name:module.path'``), optional
            ``connector`` (a dict or list of dicts); other keys go to the
            loss.
        teachers (dict, optional): ``name -> teacher dict`` (fields as
            ``teacher``), beside or instead of ``teacher``.
        load_teacher_checkpoint (bool): Load the teachers' checkpoints. Off
            in ``tools/test.py``, where no teacher runs. Defaults to True.
        teacher_stop_early (bool): End each teacher's forward once its taps
            have fired. Defaults to True.
        loss_balance (dict, optional): Arguments of
            :class:`mmkd.distillers.LossBalance`, e.g.
            ``dict(warmup_iters=200, target=1.0)``: measure each term's
            gradient against the task loss's on every warm-up step and
            scale the term by ``target`` over the mean ratio so far, then
            keep the warm-up's scale, so that the term's gradient is about
            ``target`` times the task's. The scales are logged by
            :class:`mmkd.DistillHealthHook` and saved in checkpoints.
            Defaults to None (the configured weights).
        student_init_from_teacher (dict, optional): ``dict(prefixes=[...])``
            to start those student modules (e.g. ``neck``, ``bbox_head``)
            from the teacher's weights wherever names and shapes match, in
            :meth:`init_weights` (the inheritance strategy of FGD, MasKD and
            ACAM-KD); see :func:`mmkd.distillers.inherit_from_teacher`.
            Defaults to None.
        data_preprocessor: Must be None (the student's is used).
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 losses: Optional[dict] = None,
                 teachers: Optional[dict] = None,
                 load_teacher_checkpoint: bool = True,
                 teacher_stop_early: bool = True,
                 student_init_from_teacher: Optional[dict] = None,
                 loss_balance: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(student, nn.Module):  # built by a DistillComparison
            student_model, self.student_scope = student, None
        else:
            student_model, self.student_scope = build_model(student, 'student')
        if data_preprocessor is not None:
            raise ValueError(
                f'a Distiller uses its student\'s data_preprocessor, but got '
                f'data_preprocessor={data_preprocessor!r}: set it in the '
                f'student config instead. If it comes from a base config\'s '
                f'top-level data_preprocessor (MMPretrain\'s dataset bases '
                f'have one; the runner hands it to the model), add '
                f'`data_preprocessor = None` to the config')
        super().__init__(
            data_preprocessor=student_model.data_preprocessor,
            init_cfg=init_cfg)
        self.student = student_model
        #: name -> Teacher; a plain dict, so the teachers stay hidden.
        self.teachers: Dict[str,
                            Teacher] = build_teachers(teacher, teachers,
                                                      self.student,
                                                      load_teacher_checkpoint,
                                                      'Distiller')

        if not isinstance(losses, dict) or not losses:
            raise ValueError('losses should be a non-empty dict of '
                             f'name -> loss config, but got {losses!r}')
        default = 'teacher' if teacher is not None else ''
        self.distill_losses = nn.ModuleDict({
            name: _LossEntry(name, cfg, default)
            for name, cfg in losses.items()
        })
        entries: List[_LossEntry] = list(self.distill_losses.values())
        for entry in entries:
            if entry.teacher_tap.model not in self.teachers:
                raise KeyError(
                    f'loss {entry.name!r}: teacher tap '
                    f'{entry.teacher_tap.path!r} names no known teacher '
                    f'({entry.teacher_tap.model!r}); with '
                    f'teachers=dict(...) write '
                    f"'<name>:{entry.teacher_tap.path}', name one of "
                    f'{sorted(n for n in self.teachers if n != "teacher")}')
        # A loss that runs part of the student (ProC-KD runs the student's
        # head on its own features) gets a plain reference to it, once.
        for entry in entries:
            bind = getattr(entry.loss, 'bind_student', None)
            if callable(bind):
                bind(self.student)
        self.student_taps = FeatureTaps(self.student,
                                        [e.student_tap for e in entries],
                                        'student')
        for name, hidden in list(self.teachers.items()):
            taps = [
                e.teacher_tap for e in entries if e.teacher_tap.model == name
            ]
            if not taps:
                if hidden.reuse_records:  # shared: other arms tap it
                    continue
                raise ValueError(f'{hidden.label} is not used by any loss; '
                                 f'remove it or tap it in losses')
            hidden.tap(taps, teacher_stop_early)
        if student_init_from_teacher is not None and not isinstance(
                student_init_from_teacher, dict):
            raise TypeError('student_init_from_teacher should be a dict '
                            "like dict(prefixes=['neck', 'bbox_head']), but "
                            f'got {student_init_from_teacher!r}')
        self.student_init_from_teacher = student_init_from_teacher
        #: Global factor on every distillation loss, set by
        #: ``mmkd.DistillScheduleHook``.
        self.distill_scale = 1.0
        # Log keys of the distillation outputs -> True for a term (summed
        # into the total), False for a statistic (logged only). Kept from the
        # last step, so a stopped step logs the same keys.
        self._distill_keys: Dict[str, Dict[str, bool]] = {}
        if loss_balance is not None and not isinstance(loss_balance, dict):
            raise TypeError('loss_balance should be a dict like '
                            'dict(warmup_iters=200, target=1.0), but got '
                            f'{loss_balance!r}')
        self.loss_balance = LossBalance(
            **loss_balance) if loss_balance else None
        #: Set by ``mmkd.DistillHealthHook`` for the steps it checks: measure
        #: each term's gradient (``'taps'``, or also over the student's
        #: parameters, ``'params'``) into :attr:`health`.
        self.health_check: Optional[str] = None
        #: term log key -> figures of the last check (see
        #: :func:`mmkd.distillers.gradient_health`).
        self.health: Dict[str, Dict[str, float]] = {}

    def init_weights(self) -> None:
        """Initialise the student (and trainable loss parts) as usual, then
        copy teacher weights into the student if asked: here, because the
        runner calls this after building the model and a copy made earlier
        would be overwritten."""
        super().init_weights()
        if self.student_init_from_teacher:
            inherit_from_teacher(self.student, self.teacher,
                                 **self.student_init_from_teacher)

    @property
    def teacher(self) -> nn.Module:
        """The teacher model (of ``teacher=``, or the only one)."""
        return self._main_teacher().model

    @property
    def teacher_taps(self) -> FeatureTaps:
        return self._main_teacher().taps

    def _main_teacher(self) -> Teacher:
        teachers = self.__dict__['teachers']
        if 'teacher' in teachers:
            return teachers['teacher']
        if len(teachers) == 1:
            return next(iter(teachers.values()))
        # not AttributeError: nn.Module.__getattr__ would replace the message
        raise RuntimeError(f'this Distiller has several teachers '
                           f'({sorted(teachers)}): use '
                           f'model.teachers[name].model')

    # --- forward ------------------------------------------------------
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    def _teacher_records(self, inputs, data_samples) -> Dict[Tap, object]:
        records: Dict[Tap, object] = {}
        for hidden in self.teachers.values():
            records.update(hidden.records(inputs, data_samples))
        return records

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
                keys = self._distill_keys.get(name,
                                              {DISTILL_PREFIX + name: True})
                for key in keys:
                    losses[key] = zero + inputs.new_zeros(())
            return losses
        teacher = self._teacher_records(inputs, data_samples)
        with self.student_taps:
            losses = self.student.loss(inputs, data_samples)
        student = self.student_taps.pop()
        task_keys = list(losses)
        terms: Dict[str, torch.Tensor] = {}
        term_entries: Dict[str, _LossEntry] = {}
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
                if is_term:
                    terms[key], term_entries[key] = losses[key], entry
        balance = self.loss_balance
        measuring = balance is not None and balance.measuring
        health = None
        if self.training and torch.is_grad_enabled() and (self.health_check
                                                          or measuring):
            # the student's own total, by the rule that sums it for training
            task, _ = self.parse_losses({k: losses[k] for k in task_keys})
            reads = {
                key: grad_tensors(student[entry.student_tap])
                for key, entry in term_entries.items()
            }
            health = gradient_health(task, terms, reads)
            if measuring:
                balance.observe(health, terms, scale)
        # after observing: the warm-up's steps use the running mean
        factors = {key: balance.scale(key)
                   for key in terms} if balance is not None else None
        if health is not None and self.health_check:
            if self.health_check == 'params':
                params = [
                    p for p in self.student.parameters() if p.requires_grad
                ]
                over_params = gradient_health(task, terms,
                                              {k: params
                                               for k in terms})
                for key, row in over_params.items():
                    health[key].update({
                        f'param_{k}': v
                        for k, v in row.items() if k != 'value'
                    })
            self.health = {
                key: _scaled(row, factors and factors[key])
                for key, row in health.items()
            }
        for key, factor in (factors or {}).items():
            losses[key] = losses[key] * factor
        return losses

    def weight_arg(self, key: str) -> Optional[str]:
        """The loss argument that weights term ``key`` (for messages)."""
        for name, entry in self.distill_losses.items():
            if key in self._distill_keys.get(name, {}):
                arg = entry.weight_arg(key)
                return f'losses.{name}.{arg}' if arg else None
        return None

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


def _scaled(row: Dict[str, float],
            factor: Optional[float]) -> Dict[str, float]:
    """A term's figures once multiplied by its balance scale ``factor``
    (None: no ``loss_balance``)."""
    out = dict(row)
    if factor is None:
        return out
    for key in ('value', 'grad_norm', 'ratio', 'param_grad_norm',
                'param_ratio'):
        if key in out:
            out[key] = out[key] * factor
    out['balance_scale'] = factor
    return out
