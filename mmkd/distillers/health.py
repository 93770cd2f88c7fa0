"""How hard each distillation term pushes the student, measured.

A distillation term reaches the student through the tensors its loss reads
(the taps). At a check, :func:`gradient_health` takes, for every term and
for the student's own (task) loss, the gradient with respect to those
tensors with ``torch.autograd.grad`` (nothing is accumulated into ``.grad``,
so the training step is unchanged) and reports the term's gradient norm,
the ratio to the task's on the same tensors and the cosine between them.
:class:`LossBalance` uses the ratios to fix each term's scale after a
warm-up. Both are driven by :class:`mmkd.DistillHealthHook` and the
Distiller's ``loss_balance``; see docs/health.md.
"""
import math
from typing import Dict, Iterable, List, Optional, Sequence, Union

import torch
import torch.distributed as dist
import torch.nn as nn

__all__ = ['gradient_health', 'grad_tensors', 'LossBalance']


def grad_tensors(record) -> List[torch.Tensor]:
    """The tensors of a tap record (a tensor, or nested tuples, lists and
    dicts of them) that carry a gradient."""
    if isinstance(record, torch.Tensor):
        return [record] if record.requires_grad else []
    if isinstance(record, dict):
        record = list(record.values())
    if isinstance(record, (list, tuple)):
        return [t for item in record for t in grad_tensors(item)]
    return []


def _grads(value: torch.Tensor,
           inputs: Sequence[torch.Tensor]) -> List[Optional[torch.Tensor]]:
    if not value.requires_grad:
        return [None] * len(inputs)
    return list(
        torch.autograd.grad(
            value, inputs, retain_graph=True, allow_unused=True))


def _sq_dot(grads, reference) -> torch.Tensor:
    """``[|g|^2, |r|^2, <g, r>]`` over lists of gradients (None = 0), in
    float64 on the CPU (one transfer)."""
    sums = [0., 0., 0.]
    for g, r in zip(grads, reference):
        g = None if g is None else g.detach().double()
        r = None if r is None else r.detach().double()
        if g is not None:
            sums[0] = sums[0] + g.square().sum()
        if r is not None:
            sums[1] = sums[1] + r.square().sum()
        if g is not None and r is not None:
            sums[2] = sums[2] + (g * r).sum()
    return torch.stack(
        [torch.as_tensor(v, dtype=torch.float64).cpu() for v in sums])


def gradient_health(
        task: torch.Tensor, terms: Dict[str, torch.Tensor],
        reads: Dict[str,
                    Sequence[torch.Tensor]]) -> Dict[str, Dict[str, float]]:
    """Each term's push on the tensors it reads, against the task loss's.

    Args:
        task (Tensor): The student's own loss (the total of its terms).
        terms (dict[str, Tensor]): Distillation terms as they enter the
            total loss (weights and schedule applied).
        reads (dict[str, Sequence[Tensor]]): For each term, the student
            tensors its loss reads (its tap record).

    Returns:
        dict[str, dict[str, float]]: per term ``grad_norm`` (of the term),
        ``task_grad_norm`` (of the task loss on the same tensors),
        ``ratio`` (their quotient; NaN where the task's is 0), ``cos``
        (NaN where either is 0), ``value`` and ``task_value`` (the two
        losses; those of this process). Under ``torch.distributed``
        the squared norms and dot products are summed over the processes,
        so every process gets the figures of the whole batch (norms are
        those of the mean loss over the processes).
    """
    task = torch.as_tensor(task)  # a student without loss keys gives 0
    task_grads: Dict[tuple, list] = {}
    rows = []
    for name, term in terms.items():
        inputs = list(reads[name])
        key = tuple(id(t) for t in inputs)
        if key not in task_grads:
            task_grads[key] = _grads(task, inputs)
        rows.append(_sq_dot(_grads(term, inputs), task_grads[key]))
    if not rows:
        return {}
    table = torch.stack(rows)
    world = 1
    if dist.is_available() and dist.is_initialized():
        world = dist.get_world_size()
        if world > 1:
            device = task.device if dist.get_backend() == 'nccl' else 'cpu'
            reduced = table.to(device)
            dist.all_reduce(reduced)
            table = reduced.cpu()
    out = {}
    for (name, term), (sq, task_sq, dot) in zip(terms.items(), table.tolist()):
        norm, task_norm = math.sqrt(sq) / world, math.sqrt(task_sq) / world
        scale = math.sqrt(sq * task_sq)
        out[name] = dict(
            value=float(term.detach()),
            task_value=float(task.detach()),
            grad_norm=norm,
            task_grad_norm=task_norm,
            ratio=norm / task_norm if task_norm > 0 else math.nan,
            cos=dot / scale if scale > 0 else math.nan)
    return out


class LossBalance(nn.Module):
    """Fix each distillation term's scale from its measured gradient.

    On each of the first ``warmup_iters`` training steps the ratio of each
    term's gradient to the task's (on the tensors the term reads) is
    measured before the term is applied, and the term is scaled by
    ``target / mean ratio so far``; after the warm-up the scale is fixed at
    ``target / mean ratio`` over the warm-up, so that the term's gradient
    is about ``target`` times the task's. Distillation thus acts from the
    first step. The step count, the sums and the
    scales are saved in checkpoints (``get_extra_state``) and restored on
    resume.

    Args:
        warmup_iters (int): Steps measured before the scales are fixed.
            Defaults to 200.
        target (float | dict): The fraction of the task's gradient each
            term should have; a dict gives it per term log key (e.g.
            ``{'distill.loss_bpkd_edge': 1.0}``), terms left out keep scale
            1 and are applied during the warm-up. Defaults to 1.0.
    """

    def __init__(self,
                 warmup_iters: int = 200,
                 target: Union[float, Dict[str, float]] = 1.0) -> None:
        super().__init__()
        if not isinstance(warmup_iters, int) or warmup_iters < 1:
            raise ValueError('loss_balance warmup_iters should be a positive '
                             f'int, but got {warmup_iters!r}')
        targets = target.values() if isinstance(target, dict) else [target]
        if not all(isinstance(t, (int, float)) and t > 0 for t in targets):
            raise ValueError('loss_balance target should be a positive '
                             'number or a dict of term -> positive number, '
                             f'but got {target!r}')
        self.warmup_iters = warmup_iters
        self.target = target
        self.steps = 0
        self.ratio_sums: Dict[str, float] = {}
        self.counts: Dict[str, int] = {}
        self.scales: Optional[Dict[str, float]] = None

    def balances(self, key: str) -> bool:
        return not isinstance(self.target, dict) or key in self.target

    @property
    def measuring(self) -> bool:
        return self.scales is None

    def _target(self, key: str) -> float:
        return self.target[key] if isinstance(self.target,
                                              dict) else self.target

    def scale(self, key: str) -> float:
        """The factor on term ``key``: during the warm-up ``target`` over
        the mean ratio measured so far (this step's included; 0 before a
        finite ratio was measured), then fixed."""
        if not self.balances(key):
            return 1.0
        if self.scales is not None:
            return self.scales.get(key, 1.0)
        if not self.counts.get(key):
            return 0.0
        mean = self.ratio_sums[key] / self.counts[key]
        return self._target(key) / mean if mean > 0 else 1.0

    def observe(self,
                health: Dict[str, Dict[str, float]],
                keys: Iterable[str],
                schedule: float = 1.0) -> None:
        """Count one training step of measurements; fix the scales after
        the warm-up. ``health`` holds the figures of the terms before
        balancing, at the schedule factor ``schedule``
        (``mmkd.DistillScheduleHook``), which is divided out: the balance
        and the schedule then compose."""
        for key in keys:
            ratio = health.get(key, {}).get('ratio', math.nan) / schedule
            if self.balances(key) and math.isfinite(ratio):
                self.ratio_sums[key] = self.ratio_sums.get(key, 0.) + ratio
                self.counts[key] = self.counts.get(key, 0) + 1
        self.steps += 1
        if self.steps >= self.warmup_iters:
            self.scales = {key: self.scale(key) for key in self.counts}

    def get_extra_state(self) -> dict:
        return dict(
            steps=self.steps,
            ratio_sums=dict(self.ratio_sums),
            counts=dict(self.counts),
            scales=None if self.scales is None else dict(self.scales))

    def set_extra_state(self, state: dict) -> None:
        self.steps = state['steps']
        self.ratio_sums = dict(state['ratio_sums'])
        self.counts = dict(state['counts'])
        self.scales = None if state['scales'] is None else dict(
            state['scales'])

    def extra_repr(self) -> str:
        return (f'warmup_iters={self.warmup_iters}, target={self.target}, '
                f'scales={self.scales}')
