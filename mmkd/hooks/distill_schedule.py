"""Schedule the weight of every distillation loss over training."""
import math
from typing import Literal, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmkd.registry import HOOKS

__all__ = ['DistillScheduleHook', 'distill_factor']


def distill_factor(step: int,
                   warmup: int = 0,
                   decay: Literal['none', 'cosine', 'step'] = 'none',
                   decay_begin: int = 0,
                   decay_end: Optional[int] = None,
                   milestones: Sequence[int] = (),
                   gamma: float = 0.1,
                   min_factor: float = 0.0,
                   stop: Optional[int] = None) -> float:
    """The factor at ``step`` (0-based): linear warm-up from 0 to 1 over
    ``warmup`` steps, then cosine decay to ``min_factor`` between
    ``decay_begin`` and ``decay_end``, or ``gamma`` per passed milestone;
    0 from ``stop`` on.

    Example:
        >>> distill_factor(4, warmup=10)
        0.5
        >>> distill_factor(50, decay='cosine', decay_begin=0, decay_end=100)
        0.5
        >>> distill_factor(50, decay='step', milestones=[10, 40])
        0.010000000000000002
        >>> distill_factor(5, stop=5)
        0.0
    """
    if stop is not None and step >= stop:
        return 0.0
    factor = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    if decay == 'cosine':
        if decay_end is None or decay_end <= decay_begin:
            raise ValueError('cosine decay needs decay_end > decay_begin, but '
                             f'got {decay_begin}..{decay_end}')
        t = min(max(step - decay_begin, 0) / (decay_end - decay_begin), 1.0)
        factor *= min_factor + (1 - min_factor) * 0.5 * (1 +
                                                         math.cos(math.pi * t))
    elif decay == 'step':
        factor *= gamma**sum(step >= m for m in milestones)
    elif decay != 'none':
        raise ValueError("decay should be 'none', 'cosine' or 'step', but "
                         f'got {decay!r}')
    return factor


@HOOKS.register_module()
class DistillScheduleHook(Hook):
    """Set ``Distiller.distill_scale`` before every training iteration.

    Steps are iterations, or epochs with ``by_epoch=True`` (warm-up, decay
    and stop points are then epochs). The factor is logged as
    ``distill_scale``. Resume needs nothing saved: the factor is a function
    of the runner's iteration or epoch.

    Args:
        warmup (int): Linear warm-up length. Defaults to 0.
        decay (str): 'none', 'cosine' or 'step'. Defaults to 'none'.
        decay_begin (int): Start of the cosine decay. Defaults to 0.
        decay_end (int, optional): End of the cosine decay (required for
            cosine). Defaults to None.
        milestones (Sequence[int]): Step decay points. Defaults to ().
        gamma (float): Step decay factor. Defaults to 0.1.
        min_factor (float): Floor of the cosine decay. Defaults to 0.
        stop (int, optional): From this step on, no distillation (and no
            teacher forward). Defaults to None.
        by_epoch (bool): Count epochs instead of iterations.
            Defaults to False.
    """
    priority = 'NORMAL'

    def __init__(self,
                 warmup: int = 0,
                 decay: Literal['none', 'cosine', 'step'] = 'none',
                 decay_begin: int = 0,
                 decay_end: Optional[int] = None,
                 milestones: Sequence[int] = (),
                 gamma: float = 0.1,
                 min_factor: float = 0.0,
                 stop: Optional[int] = None,
                 by_epoch: bool = False) -> None:
        self.kwargs = dict(
            warmup=warmup,
            decay=decay,
            decay_begin=decay_begin,
            decay_end=decay_end,
            milestones=tuple(milestones),
            gamma=gamma,
            min_factor=min_factor,
            stop=stop)
        distill_factor(0, **self.kwargs)  # validate now, not mid-training
        self.by_epoch = by_epoch

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'distill_scale'):
            raise TypeError('DistillScheduleHook needs a mmkd.Distiller '
                            f'model, but got {type(model).__name__}')
        step = runner.epoch if self.by_epoch else runner.iter
        model.distill_scale = distill_factor(step, **self.kwargs)
        runner.message_hub.update_scalar('train/distill_scale',
                                         model.distill_scale)
