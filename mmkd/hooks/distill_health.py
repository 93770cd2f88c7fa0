"""Log how hard each distillation term pushes the student, and say so when
distillation is hurting."""
import math
from collections import defaultdict, deque
from typing import Dict, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmkd.registry import HOOKS

__all__ = ['DistillHealthHook', 'health_name', 'distillers_of']

_MASK_MEAN = '_mask_s_mean'  # ACAM-KD's spatial-mask statistics
# Figures written to the log (the term's value is logged as its loss, and
# the task's gradient norm is grad_norm / ratio).
# The ratio the ratio warning suggests: BPKD helped on generated shapes at
# 5-7x (and hurt at 480x); docs/experiments/health.md.
_HEALTHY_RATIO = 5.0
_LOGGED = ('ratio', 'cos', 'grad_norm', 'balance_scale', 'param_ratio',
           'param_cos', 'param_grad_norm')


def health_name(key: str) -> str:
    """A term's name in the ``health/`` keys: its log key without
    ``distill.`` and without ``loss`` (``distill.loss_bpkd_edge`` ->
    ``bpkd_edge``), since mmengine's LogProcessor averages any key holding
    ``loss`` over its window, which would mix several checks."""
    name = key[len('distill.'):] if key.startswith('distill.') else key
    for part in ('loss_', '_loss', 'loss'):
        name = name.replace(part, '')
    return name or key


def distillers_of(model) -> Dict[str, object]:
    """``prefix -> Distiller``: the model itself (prefix ''), or each arm of
    a DistillComparison that distils (prefix 'arm/'); a model wrapper (DDP)
    is looked through."""
    from mmkd.distillers import DistillComparison, Distiller
    if is_model_wrapper(model):
        model = model.module
    if isinstance(model, Distiller):
        return {'': model}
    if isinstance(model, DistillComparison):
        return {
            f'{name}/': arm
            for name, arm in model.arms.items() if isinstance(arm, Distiller)
        }
    raise TypeError('DistillHealthHook needs a mmkd.Distiller or '
                    f'mmkd.DistillComparison model, but got '
                    f'{type(model).__name__}')


@HOOKS.register_module()
class DistillHealthHook(Hook):
    """Measure, every ``interval`` iterations, the gradient each
    distillation term sends into the student, against the task loss's.

    At a check the Distiller takes, with ``torch.autograd.grad`` and
    without touching ``.grad``, the gradient of each term (as it enters the
    total loss) and of the student's own loss with respect to the student
    tensors the term reads (its tap), and logs per term, under
    ``health/<term>/...`` (``health/<arm>/<term>/...`` in a comparison):
    ``ratio`` (term / task gradient norm), ``cos`` (cosine between the two),
    ``grad_norm``, and ``balance_scale`` where ``loss_balance`` is on.
    With ``student_params=True`` the same figures over all the student's
    parameters are added (``param_ratio``, ``param_cos``): one extra
    backward pass per term and check.

    It warns once per term and kind, naming the figures and the fix, when
    over ``patience`` checks in a row a term's gradient is above
    ``ratio_threshold`` times the task's, or its cosine with the task's is
    below ``cos_threshold``; at once when a term is not finite; when a
    term has fallen under ``collapse_fraction`` of its peak while the task
    loss has not (it no longer teaches); and when an ACAM-KD spatial mask's
    mean leaves ``mask_range``.

    Args:
        interval (int): Iterations between checks: the first step, then
            every ``interval``-th (the LoggerHook's iterations at the same
            interval). Defaults to 50.
        student_params (bool): Also measure over all student parameters.
            Defaults to False.
        ratio_threshold (float): Defaults to 30.
        cos_threshold (float): Defaults to -0.2.
        patience (int): Checks in a row before a warning. Defaults to 3.
        collapse_fraction (float): Defaults to 1e-3.
        mask_range (tuple[float, float]): Defaults to (0.05, 0.95).
    """
    priority = 'NORMAL'  # before the LoggerHook (BELOW_NORMAL) writes

    def __init__(
        self,
        interval: int = 50,
        student_params: bool = False,
        ratio_threshold: float = 30.0,
        cos_threshold: float = -0.2,
        patience: int = 3,
        collapse_fraction: float = 1e-3,
        mask_range: Tuple[float, float] = (0.05, 0.95)
    ) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'interval should be a positive int, but got {interval!r}')
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(
                f'patience should be a positive int, but got {patience!r}')
        self.interval = interval
        self.mode = 'params' if student_params else 'taps'
        self.ratio_threshold = ratio_threshold
        self.cos_threshold = cos_threshold
        self.patience = patience
        self.collapse_fraction = collapse_fraction
        self.mask_range = tuple(mask_range)
        self._recent = defaultdict(lambda: deque(maxlen=patience))
        self._peak: Dict[str, float] = {}
        self._warned = set()

    def _checks(self, runner) -> bool:
        # the first step, then the steps the LoggerHook writes at the same
        # interval (so a log line shows the figures of its own iteration)
        return runner.iter == 0 or (runner.iter + 1) % self.interval == 0

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        mode = self.mode if self._checks(runner) else None
        for distiller in distillers_of(runner.model).values():
            distiller.health_check = mode

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self._checks(runner):
            return
        hub = runner.message_hub
        outputs = outputs or {}
        for prefix, distiller in distillers_of(runner.model).items():
            distiller.health_check = None
            health, distiller.health = distiller.health, {}
            for key, row in health.items():
                row = dict(row)
                task = row.pop('task_value')
                term = prefix + health_name(key)
                for stat, value in row.items():
                    if stat in _LOGGED:
                        hub.update_scalar(f'train/health/{term}/{stat}', value)
                self._judge(runner, distiller, prefix + key, key, row, task)
            for key, value in outputs.items():
                if key.startswith(prefix +
                                  'distill.') and key.endswith(_MASK_MEAN):
                    self._judge_mask(runner, key, float(value))

    # --- warnings ---------------------------------------------------------
    def _warn(self, term: str, kind: str, message: str) -> None:
        if (term, kind) in self._warned:
            return
        self._warned.add((term, kind))
        print_log(f'DistillHealthHook: {message}', logger='current', level=30)

    def _streak(self, name: str, flag: bool) -> bool:
        recent = self._recent[name]
        recent.append(flag)
        return len(recent) == self.patience and all(recent)

    def _judge(self, runner, distiller, term: str, key: str, row: dict,
               task: float) -> None:
        it = runner.iter
        value, ratio, cos = row['value'], row['ratio'], row['cos']
        weight = distiller.weight_arg(key)
        where = f'term {term!r}'
        if not math.isfinite(value) or not math.isfinite(row['grad_norm']):
            self._warn(
                term, 'finite',
                f'{where} is {value} (gradient norm {row["grad_norm"]}) at '
                f'iteration {it}. Lower the learning rate or the term\'s '
                f'weight ({weight or "its weight"}), clip gradients '
                '(optim_wrapper=dict(clip_grad=dict(max_norm=...))), or '
                'check the teacher\'s checkpoint and precision.')
        high = math.isfinite(ratio) and ratio > self.ratio_threshold
        if self._streak((term, 'ratio'), high):
            self._warn(
                term, 'ratio',
                f'{where} sends the student a gradient {ratio:.1f}x the '
                f'task loss\'s (over {self.patience} checks up to iteration '
                f'{it}): the student is trained for the teacher, hardly for '
                f'its labels. Divide its weight ({weight or "its weight"}) '
                f'by about {ratio / _HEALTHY_RATIO:.0f}, for a gradient '
                f'about {_HEALTHY_RATIO:g}x the task\'s, or set '
                'loss_balance=dict(warmup_iters=200, target=1.0) on the '
                'Distiller to scale each term to the task\'s gradient '
                '(docs/health.md).')
        against = math.isfinite(cos) and cos < self.cos_threshold
        if self._streak((term, 'cos'), against):
            self._warn(
                term, 'cos',
                f'{where} pushes against the task loss (cosine {cos:.2f} '
                f'between their gradients, over {self.patience} checks up '
                f'to iteration {it}): the teacher disagrees with the labels '
                'where this term looks. Check the teacher\'s accuracy, lower '
                f'the weight ({weight or "its weight"}), or start the term '
                'later (mmkd.DistillScheduleHook(warmup=...)).')
        if not math.isfinite(value):
            return
        peaks = self._peak
        peaks[term] = max(peaks.get(term, 0.), abs(value))
        peaks[(term, 'task')] = max(peaks.get((term, 'task'), 0.), abs(task))
        fell = abs(value) < self.collapse_fraction * peaks[term]
        task_fell = abs(task) < self.collapse_fraction * peaks[(term, 'task')]
        if self._streak((term, 'collapse'), fell and not task_fell):
            self._warn(
                term, 'collapse', f'{where} has fallen to {value:.3g}, under '
                f'{self.collapse_fraction:g} of its peak {peaks[term]:.3g}, '
                f'while the task loss is still {task:.3g} (over '
                f'{self.patience} checks up to iteration {it}): it no longer '
                'teaches. A loss with trainable masks or weights can '
                'minimise itself away: for ACAM-KD set '
                'detach_masks_in_loss=True and detach_student_in_fusion='
                'True.')

    def _judge_mask(self, runner, key: str, mean: float) -> None:
        low, high = self.mask_range
        outside = not low <= mean <= high
        if self._streak((key, 'mask'), outside):
            self._warn(
                key, 'mask',
                f'ACAM-KD spatial masks {key!r} have a mean of {mean:.3g}, '
                f'outside [{low}, {high}], over {self.patience} checks up to '
                f'iteration {runner.iter}: they have collapsed and weight '
                'almost no position. Set detach_masks_in_loss=True (masks '
                'trained by the Dice term only) and detach_student_in_'
                'fusion=True on the loss.')
