from .distill_health import DistillHealthHook
from .distill_schedule import DistillScheduleHook, distill_factor
from .eval_precision import EvalPrecisionHook

__all__ = [
    'DistillHealthHook', 'DistillScheduleHook', 'distill_factor',
    'EvalPrecisionHook'
]
