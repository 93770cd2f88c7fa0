from .distill_schedule import DistillScheduleHook, distill_factor

__all__ = ['DistillScheduleHook', 'distill_factor']
