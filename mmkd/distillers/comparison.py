"""One teacher forward, several students: a comparison run.

"Does distillation help my pair, and which method?" takes one run per method
when each pays the teacher again. :class:`DistillComparison` trains several
arms side by side (a plain student and one Distiller per method), each with
its own student copy, losses and optimizer, on the same batches from the same
initial weights, with one teacher forward per batch. Validation evaluates
every arm (:class:`ComparisonValLoop`) and writes a table and a plot to the
work dir. Under DDP each arm is wrapped in its own DistributedDataParallel
(:class:`ComparisonDistributedDataParallel`). See docs/comparison.md.
"""
import copy
import logging
import numbers
import os.path as osp
from collections import OrderedDict
from contextlib import ExitStack, contextmanager
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.model import (BaseModel, MMDistributedDataParallel,
                            MMSeparateDistributedDataParallel, ModuleDict,
                            is_model_wrapper)
from mmengine.optim import (DefaultOptimWrapperConstructor, OptimWrapper,
                            OptimWrapperDict)
from mmengine.runner import ValLoop
from torch.nn.parallel import DistributedDataParallel

from mmkd.registry import (LOOPS, MODEL_WRAPPERS, MODELS,
                           OPTIM_WRAPPER_CONSTRUCTORS)
from .builder import build_model
from .distiller import Distiller
from .taps import closest_names
from .teacher import HidesTeachers, Teacher, build_teachers

__all__ = [
    'DistillComparison', 'ComparisonOptimWrapperConstructor',
    'ComparisonValLoop', 'ComparisonDistributedDataParallel'
]

#: What a comparison config sets to train under DDP (tools/dist_train.sh);
#: configs/_base_/comparison_ddp.py holds it for the shipped comparisons.
WRAPPER_SETTING = ("model_wrapper_cfg=dict(type='mmkd.ComparisonDistributed"
                   "DataParallel')")


def _rng_state() -> tuple:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() \
        else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state: tuple) -> None:
    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def _take_grad_norm(wrapper: OptimWrapper) -> Optional[torch.Tensor]:
    """The norm a clipping arm's wrapper just logged, if it stepped (not
    while accumulating gradients): mmengine logs every wrapper's under the
    one key ``train/grad_norm``, which names no arm (and keeps only the last
    clipping arm's), so it is taken out and logged as ``<arm>/grad_norm``."""
    logged = wrapper.message_hub.log_scalars.pop('train/grad_norm', None)
    return None if logged is None else torch.tensor(logged.current())


def _check_arms_container(model: nn.Module) -> None:
    """The arms are still the comparison's own ModuleDict: mmengine's
    MMSeparateDistributedDataParallel wraps them all in one DDP."""
    if not isinstance(model._modules['arms'], _Arms):
        raise TypeError(
            'DistillComparison: its arms were wrapped together in one '
            f'{type(model._modules["arms"]).__name__} (mmengine\'s '
            'MMSeparateDistributedDataParallel does that), but each arm '
            'steps its own optimizer and needs its own DDP: set '
            f'{WRAPPER_SETTING} in the config')


def _student(arm: nn.Module) -> nn.Module:
    """An arm's student: the Distiller's, or the plain arm itself."""
    return arm.student if isinstance(arm, Distiller) else arm


class _Arms(ModuleDict):
    """The arms, initialised as their configs say, from one start.

    mmengine's ``BaseModule.init_weights`` initialises only the children
    that have ``init_weights``: a plain ``nn.ModuleDict`` has none, so arms
    held in one kept PyTorch's default initialisation (no ``init_cfg`` of
    the student, no inheritance from the teacher). mmengine's ``ModuleDict``
    is reached; here the first arm's student is initialised, its weights are
    given to every other arm's student, and then each arm initialises the
    rest (a Distiller its loss parts, and inherits teacher weights if it
    asks to).
    """

    def init_weights(self) -> None:
        students = [_student(arm) for arm in self.values()]
        students[0].init_weights()
        start = students[0].state_dict()
        for student in students[1:]:
            student.load_state_dict(start)
            student.is_init = True  # so the arm does not draw new weights
        super().init_weights()


@MODELS.register_module()
class DistillComparison(HidesTeachers, BaseModel):
    """Arms trained side by side on the same batches, one teacher forward.

    Args:
        student (dict): The student, as in :class:`Distiller`; every arm
            gets its own copy, all starting from the same weights: the first
            arm's student initialised as its config says (``init_cfg``),
            before any arm inherits teacher weights
            (``student_init_from_teacher``).
        arms (dict): ``name -> dict(losses=dict(...))``; an arm without
            ``losses`` (or with an empty dict) is the plain student. Other
            keys of an arm go to its :class:`Distiller` (e.g.
            ``student_init_from_teacher``).
        teacher (dict, optional): As in :class:`Distiller`.
        teachers (dict, optional): As in :class:`Distiller`.
        load_teacher_checkpoint (bool): Defaults to True.
        teacher_stop_early (bool): Defaults to True.
        data_preprocessor: Must be None (the student's is used).
        init_cfg (dict, optional): Defaults to None.

    Each arm draws its random numbers (dropout) from its own stream, started
    from the global state at the first step, so the arms see the same
    masks, and an arm's updates equal those of the same student trained
    alone from the same weights and random state (``tests/test_distillers/
    test_comparison.py``). The streams are not saved in checkpoints: a
    resumed comparison continues from the global state.
    """

    def __init__(self,
                 student: dict,
                 arms: dict,
                 teacher: Optional[dict] = None,
                 teachers: Optional[dict] = None,
                 load_teacher_checkpoint: bool = True,
                 teacher_stop_early: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is not None:
            raise ValueError('DistillComparison uses the student\'s '
                             'data_preprocessor; set it in the student config')
        if not isinstance(arms, dict) or len(arms) < 2:
            raise ValueError('arms should name at least two arms, e.g. '
                             'arms=dict(student=dict(), cwd=dict(losses='
                             f'dict(...))), but got {arms!r}')
        first, _ = build_model(student, 'student')
        super().__init__(
            data_preprocessor=first.data_preprocessor, init_cfg=init_cfg)
        #: One set of teachers for every arm (a plain dict: hidden).
        self.teachers: Dict[str,
                            Teacher] = build_teachers(teacher, teachers, first,
                                                      load_teacher_checkpoint,
                                                      'DistillComparison')
        for hidden in self.teachers.values():
            hidden.reuse_records = True
        self.arms = _Arms()
        for name, arm in arms.items():
            arm = dict(arm or {})
            model = first if not self.arms else build_model(
                student, 'student')[0]
            if not arm.get('losses'):
                if set(arm) - {'losses'}:
                    raise ValueError(f'arm {name!r} has no losses, so it '
                                     f'takes no options: {sorted(arm)}')
                self.arms[name] = model  # the plain student
                continue
            shared = {n: t for n, t in self.teachers.items() if n != 'teacher'}
            self.arms[name] = Distiller(
                student=model,
                teacher=self.teachers.get('teacher'),
                teachers=shared,
                teacher_stop_early=teacher_stop_early,
                **arm)
        self.active_arm = next(iter(self.arms))
        #: name -> the arm's DDP, under DDP only (:meth:`wrap_arms`)
        self.ddp_arms: Dict[str, nn.Module] = {}
        self._arm_rng: Optional[Dict[str, tuple]] = None
        self._non_finite: set = set()  # arms already warned about

    # --- the arms' students and the hidden teachers -----------------------
    def student_of(self, name: str) -> nn.Module:
        return _student(self.arms[name])

    @property
    def distill_scale(self) -> float:
        arms = [a for a in self.arms.values() if isinstance(a, Distiller)]
        return arms[0].distill_scale

    @distill_scale.setter
    def distill_scale(self, value: float) -> None:
        for arm in self.arms.values():
            if isinstance(arm, Distiller):
                arm.distill_scale = value

    # --- DDP: one wrapper per arm -----------------------------------------
    def wrap_arms(self, wrap) -> None:
        """Give each arm that has trainable parameters its own DDP,
        ``wrap(arm)``; its training forward goes through it, so the backward
        averages that arm's gradients across processes. Called by
        :class:`ComparisonDistributedDataParallel`.

        The wrappers are kept in a plain dict, outside the module tree (as
        the teachers are): ``arms``, ``state_dict()``, checkpoints, hooks
        and tools see the bare arms, in one process or many.
        """
        self.ddp_arms = {
            name: wrap(arm)
            for name, arm in self.arms.items()
            if any(p.requires_grad for p in arm.parameters())
        }

    def __deepcopy__(self, memo):
        # a copy (EMAHook's averaged model) trains nothing: no DDPs
        memo[id(self.ddp_arms)] = {}
        return super().__deepcopy__(memo)

    # --- training -------------------------------------------------------
    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        if not isinstance(optim_wrapper, OptimWrapperDict):
            raise TypeError(
                'DistillComparison trains each arm with its own optimizer: '
                "set optim_wrapper=dict(constructor='mmkd.ComparisonOptim"
                "WrapperConstructor', ...) in the config")
        self._check_distributed()
        data = self.data_preprocessor(data, True)
        if self._arm_rng is None:
            state = _rng_state()
            self._arm_rng = {name: state for name in self.arms}
        log = OrderedDict()
        try:
            for name, arm in self.arms.items():
                _set_rng_state(self._arm_rng[name])
                wrapper = optim_wrapper[name]
                # Under DDP the forward goes through the arm's own DDP, so
                # the backward in update_params all-reduces this arm's
                # gradients (optim_context skips that while accumulating).
                forward = self.ddp_arms.get(name, arm)
                with wrapper.optim_context(forward):
                    # the teachers run in the first Distiller arm only;
                    # the others get the same records (Teacher.reuse_records)
                    losses = forward(**data, mode='loss')
                total, arm_log = arm.parse_losses(losses)
                self._warn_if_non_finite(name, total, arm_log)
                wrapper.update_params(total)
                self._arm_rng[name] = _rng_state()
                for key, value in arm_log.items():
                    log[f'{name}/{key}'] = value
                norm = _take_grad_norm(wrapper)
                if norm is not None:
                    log[f'{name}/grad_norm'] = norm
        finally:
            for hidden in self.teachers.values():
                hidden.forget()
        return log

    def _check_distributed(self) -> None:
        """Under DDP every arm that trains must be in its own
        DistributedDataParallel, or its ranks drift apart silently."""
        _check_arms_container(self)
        if not (dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1):
            return
        bare = [
            name for name, arm in self.arms.items()
            if name not in self.ddp_arms and any(p.requires_grad
                                                 for p in arm.parameters())
        ]
        if bare:
            raise RuntimeError(
                f'DistillComparison trains on {dist.get_world_size()} '
                f'processes, but the arms {bare} are not wrapped in '
                'DistributedDataParallel, so their gradients would not be '
                f'averaged across processes: set {WRAPPER_SETTING} in the '
                'config')

    def _warn_if_non_finite(self, name: str, total: torch.Tensor,
                            arm_log: dict) -> None:
        """Once per arm: its loss is NaN or inf. The other arms go on (a
        single run would not stop either), so say it where it happens."""
        if name in self._non_finite or torch.isfinite(total).all():
            return
        self._non_finite.add(name)
        bad = [
            k for k, v in arm_log.items()
            if not torch.isfinite(torch.as_tensor(v)).all()
        ]
        print_log(
            f'comparison arm {name!r}: the loss is {total.item()} (non-finite'
            f' terms: {bad}); its weights are likely lost from here, the other'
            ' arms go on. Lower its learning rate or clip its gradients: '
            f'optim_wrapper=dict(arms=dict({name}=dict(clip_grad=dict('
            'max_norm=...)))).',
            logger='current',
            level=logging.WARNING)

    # --- evaluation: the active arm's student ------------------------------
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            raise RuntimeError(
                'DistillComparison.train_step trains the arms one by one, '
                'each with its own optimizer; there is no single loss. Under '
                'DDP (tools/dist_train.sh) mmengine\'s default '
                'MMDistributedDataParallel asks for one: set '
                f'{WRAPPER_SETTING} in the config (the shipped comparison '
                "configs list '../_base_/comparison_ddp.py' in _base_)")
        return self.student_of(self.active_arm)(inputs, data_samples, mode)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ComparisonOptimWrapperConstructor:
    """One optimizer wrapper per arm of a :class:`DistillComparison`, each
    built from the same config (that of a single run) over that arm's
    parameters; parameter schedulers apply to each.

    ``optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, ...),
    constructor='mmkd.ComparisonOptimWrapperConstructor')``

    An arm may change its own copy: ``arms=dict(NAME=dict(...))`` in the
    ``optim_wrapper`` dict is merged into that arm's config as a child
    config is into its base (``_delete_=True`` replaces a dict), e.g.
    ``arms=dict(bpkd_clip=dict(clip_grad=dict(max_norm=35)))``.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        self.arm_changes = self.optim_wrapper_cfg.pop('arms', None) or {}
        self.paramwise_cfg = paramwise_cfg

    def arm_config(self, name: str) -> dict:
        """The optimizer wrapper config of arm ``name``."""
        cfg = copy.deepcopy(self.optim_wrapper_cfg)
        change = copy.deepcopy(dict(self.arm_changes.get(name, {})))
        for key, value in change.items():
            if isinstance(value, dict) and cfg.get(key) is None:
                cfg.pop(key, None)  # e.g. clip_grad=None in the schedule
        return Config._merge_a_into_b(change, ConfigDict(cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        # the runner builds the optimizers before the first step: the place
        # to name the wrapper a distributed comparison needs
        if is_model_wrapper(model) and not isinstance(
                model, ComparisonDistributedDataParallel):
            raise TypeError(
                f'mmkd.DistillComparison is wrapped in '
                f'{type(model).__name__}, which cannot train its arms (each '
                'steps its own optimizer, and each needs its own DDP): set '
                f'{WRAPPER_SETTING} in the config (the shipped comparison '
                "configs list '../_base_/comparison_ddp.py' in _base_)")
        model = getattr(model, 'module', model)
        if not isinstance(model, DistillComparison):
            raise TypeError('mmkd.ComparisonOptimWrapperConstructor is for '
                            'mmkd.DistillComparison models, not '
                            f'{type(model).__name__}')
        _check_arms_container(model)
        for name in self.arm_changes:
            if name not in model.arms:
                raise KeyError(
                    f'optim_wrapper.arms names {name!r}, which is not an arm;'
                    f' the arms are {list(model.arms)} (closest: '
                    f'{closest_names(name, list(model.arms))})')
        return OptimWrapperDict(
            **{
                name: DefaultOptimWrapperConstructor(
                    self.arm_config(name), copy.deepcopy(self.paramwise_cfg))(
                        arm)
                for name, arm in model.arms.items()
            })


@LOOPS.register_module()
class ComparisonValLoop(ValLoop):
    """Validate every arm with the config's evaluator; metrics are logged as
    ``arm/metric``, and ``comparison.md`` (a table per validation) and
    ``comparison.png`` (each metric against the iteration, one line per arm)
    are written to the work dir."""

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16)
        self.history: List[dict] = []

    def run(self) -> dict:
        model = getattr(self.runner.model, 'module', self.runner.model)
        if not isinstance(model, DistillComparison):
            raise TypeError('mmkd.ComparisonValLoop validates the arms of a '
                            'mmkd.DistillComparison, not '
                            f'{type(model).__name__}')
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        metrics = OrderedDict()
        active = model.active_arm
        try:
            for name in model.arms:
                model.active_arm = name
                for idx, data_batch in enumerate(self.dataloader):
                    self.run_iter(idx, data_batch)
                arm = self.evaluator.evaluate(len(self.dataloader.dataset))
                metrics.update({f'{name}/{k}': v for k, v in arm.items()})
        finally:
            model.active_arm = active
        self.history.append(dict(iter=self.runner.iter, metrics=metrics))
        self._write(list(model.arms))
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    def _write(self, arms: List[str]) -> None:
        work_dir = self.runner.work_dir
        last = self.history[-1]['metrics']
        names = list(dict.fromkeys(k.split('/', 1)[1] for k in last))
        lines = [
            f'# Comparison at iteration {self.history[-1]["iter"]}', '',
            '| arm | ' + ' | '.join(names) + ' |',
            '|---' * (len(names) + 1) + '|'
        ]
        for arm in arms:
            values = [last.get(f'{arm}/{n}') for n in names]
            cells = [
                f'{v:.2f}' if isinstance(v, numbers.Real) else str(v)
                for v in values
            ]
            lines.append(f'| {arm} | ' + ' | '.join(cells) + ' |')
        with open(osp.join(work_dir, 'comparison.md'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self._plot(arms, names, osp.join(work_dir, 'comparison.png'))

    def _plot(self, arms: List[str], names: List[str], path: str) -> None:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        numeric = [
            n for n in names if all(
                isinstance(h['metrics'].get(f'{a}/{n}'), numbers.Real)
                for h in self.history for a in arms)
        ]
        if not numeric:
            return
        fig, axes = plt.subplots(
            1, len(numeric), figsize=(4 * len(numeric), 3), squeeze=False)
        iters = [h['iter'] for h in self.history]
        for ax, name in zip(axes[0], numeric):
            for arm in arms:
                ax.plot(
                    iters,
                    [h['metrics'][f'{arm}/{name}'] for h in self.history],
                    marker='o',
                    label=arm)
            ax.set_title(name)
            ax.set_xlabel('iteration')
        axes[0][0].legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


@MODEL_WRAPPERS.register_module()
class ComparisonDistributedDataParallel(MMSeparateDistributedDataParallel):
    """DDP for a :class:`DistillComparison`: each arm in its own
    :class:`~mmengine.model.MMDistributedDataParallel`.

    ``model_wrapper_cfg = dict(type='mmkd.ComparisonDistributedDataParallel')``
    (``configs/_base_/comparison_ddp.py``, listed by the shipped comparison
    configs).

    mmengine's default wrapper runs one ``forward(mode='loss')`` per step,
    which a comparison does not have: its arms step one by one, each with
    its own optimizer. mmengine's ``MMSeparateDistributedDataParallel``
    calls the model's own ``train_step`` but wraps each direct child, so all
    arms would share one DDP that expects every arm's gradients in each
    backward. This wrapper calls the comparison's ``train_step`` too, and
    gives each arm that has trainable parameters (its student and, for a
    Distiller, its losses' connectors, masks and prototypes) its own DDP
    (:meth:`DistillComparison.wrap_arms`): the backward of one arm averages
    that arm's gradients across processes, as a single run of that arm
    would under DDP. The teachers are hidden from DDP (a plain dict of
    :class:`Teacher`), so DDP neither waits for nor broadcasts them.

    Args:
        module (DistillComparison): The comparison.
        broadcast_buffers (bool): As for DDP. Defaults to False (BN running
            statistics stay per process, as under mmengine's default).
        find_unused_parameters (bool): As for DDP. Defaults to False.
        **kwargs: Passed to each arm's DDP (e.g. ``device_ids``).
    """

    def __init__(self,
                 module: nn.Module,
                 broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False,
                 **kwargs) -> None:
        if not isinstance(module, DistillComparison):
            raise TypeError('mmkd.ComparisonDistributedDataParallel wraps a '
                            'mmkd.DistillComparison, not '
                            f'{type(module).__name__}; other models use '
                            "mmengine's MMDistributedDataParallel")
        # As MMSeparateDistributedDataParallel: DistributedDataParallel's own
        # __init__ is not run (this object holds the arms' DDPs).
        super(DistributedDataParallel, self).__init__()
        self.module = module.to(get_device())
        module.wrap_arms(lambda arm: MMDistributedDataParallel(
            module=arm,
            broadcast_buffers=broadcast_buffers,
            find_unused_parameters=find_unused_parameters,
            **kwargs))

    @contextmanager
    def no_sync(self):
        """Every arm's DDP skips its all-reduce (gradient accumulation)."""
        with ExitStack() as stack:
            for ddp in self.module.ddp_arms.values():
                stack.enter_context(ddp.no_sync())
            yield
