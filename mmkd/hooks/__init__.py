from .distill_schedule import DistillScheduleHook, distill_factor
from .eval_precision import EvalPrecisionHook

__all__ = ['DistillScheduleHook', 'distill_factor', 'EvalPrecisionHook']
