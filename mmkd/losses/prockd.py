"""ProC-KD: prototype-guided cross-task knowledge distillation (Li, Wu,
Han, Tian, arXiv 2212.13180; FITEE 2025). Official code: MindSpore,
classification only, ``github.com/Daniel00008/ProC-KD``; its training loop
never runs the teacher. The spec (``prockd.md``) reconstructs the module from
that code and labels its readings: *code* (PLM, TAFA, K = 72, U[0,1) bank),
*proposed* (the objective below, the dense adaptation).

A teacher with another label space (an ImageNet ViT/Swin/ConvNeXt from
MMPretrain) never uses its classifier; only its tokens of several layers::

    Z     = PLM(teacher tokens)                # code (dense: student grid)
    Y'    = TAFA(Z, C)                         # code
    L_aug = student head's own task loss on Y'  # [proposed]
    L_tr  = gamma * KL(softmax(z_aug).detach() || softmax(z))  # [proposed]

``z`` are the logits the student's head gave on its own features (the
normal step), ``z_aug`` those it gives on ``Y'``. In classification ``Y'``
are tokens and the head reads ``LN(Y'_cls)``; in detection and segmentation
(spec §3 P6-P8, proposed) the tokens are the positions of one FPN level or
decode-head input, and ``Y'`` replaces that level when the head runs.

The student's head runs through its own ``loss`` (MMDetection: the
detector's ``loss`` with ``extract_feat`` returning the substituted levels;
MMSegmentation: ``decode_head.loss``; MMPretrain: ``head.loss``), so no
head code is copied. That needs the student: the Distiller calls
:meth:`ProCKDLoss.bind_student` once after building (docs/config.md).
"""
from typing import Dict, List, Literal, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.ops import maps_to_tokens, tokens_to_maps
from mmkd.registry import MODELS
from .prockd_modules import (ProCKDStudent, PrototypeLearning,
                             TaskAdaptiveAugment)
from .prockd_transfer import (_ACTIVATIONS, _TRANSFERS, _LogitRecorder,
                              logit_transfer)

__all__ = ['ProCKDLoss', 'logit_transfer']


@MODELS.register_module()
class ProCKDLoss(nn.Module):
    """ProC-KD's loss with its prototype bank, PLM and TAFA.

    Taps: ``student`` = the token site (``neck`` for detection, the tuple
    of FPN levels; for segmentation the decode head's input, ``backbone``
    (or ``neck`` when the segmentor has one), with ``student_level`` its
    ``in_index``; the last transformer layer, e.g. ``backbone.layers.5``,
    for classification), ``teacher`` = the teacher's backbone giving the
    layers' features (MMPretrain ``out_indices``; ViT with
    ``out_type='featmap'`` for dense tasks, ``'raw'`` for classification).

    Args:
        student_channels (int): D, channels of the student's token site.
        teacher_channels (Sequence[int]): Widths of the teacher layers
            used (after ``teacher_layers``).
        teacher_layers (Sequence[int], optional): Indices into the teacher
            record (P1). None uses every entry. Defaults to None.
        student_level (int): Index of the student's level in a tuple
            record (P6). Defaults to 0.
        num_prototypes (int): K (P2). Defaults to 72.
        gamma (float): Weight of the transfer term (P3). Defaults to 1.0.
        transfer (str): ``'kl'`` (P3/P8 default), ``'soft_ce'`` or
            ``'feat_mse'`` (MSE between ``TAFA(F_S)`` and ``TAFA(Z)``).
            Defaults to 'kl'.
        teacher_path_task_loss (bool): Run the student's head on ``Y'``
            with the task loss (P7). Defaults to True.
        teacher_path_weight (float): Weight of that loss. Defaults to 1.0.
        deploy_tafa (bool): TAFA and the bank live in the student
            (``mmkd.ProCKDStudent``) and are deployed (P4); False keeps them
            here and the exported student is the plain model.
            Defaults to False.
        predict_from (None): Which output predicts (P5) is a field of the
            deployed student, ``mmkd.ProCKDStudent(predict_from=...)``;
            giving it here is refused with that pointer. Defaults to None.
        proto_init (str): ``'uniform'`` (code) or ``'normal'`` (P9).
            Defaults to 'uniform'.
        logits_module (str, optional): Path of the student's module giving
            class logits (``'decode_head.conv_seg'``,
            ``'bbox_head.retina_cls'``, ``'rpn_head.rpn_cls'``,
            ``'head.layers.head'``); needed for ``'kl'``/``'soft_ce'``.
            With ``deploy_tafa=True`` this path (and ``cls_norm``) is in
            the wrapped model, the taps' paths start with ``model.``.
            Defaults to None.
        logit_activation (str): ``'softmax'`` or ``'sigmoid'`` (sigmoid
            heads). Defaults to 'softmax'.
        tau (float): Temperature of the transfer term. Defaults to 1.0.
        cls_norm (str): Classification: the student's final norm applied to
            ``Y'_cls`` before the head. Defaults to 'backbone.ln1'.
        resize_mode (str): ``F.interpolate`` mode resampling teacher maps
            to the student grid. Defaults to 'bilinear'.
    """

    statistics = ('assign_peak', )
    requires_equal_shapes = False

    def __init__(self,
                 student_channels: int,
                 teacher_channels: Sequence[int],
                 teacher_layers: Optional[Sequence[int]] = None,
                 student_level: int = 0,
                 num_prototypes: int = 72,
                 gamma: float = 1.0,
                 transfer: Literal['kl', 'soft_ce', 'feat_mse'] = 'kl',
                 teacher_path_task_loss: bool = True,
                 teacher_path_weight: float = 1.0,
                 deploy_tafa: bool = False,
                 predict_from: None = None,
                 proto_init: Literal['uniform', 'normal'] = 'uniform',
                 logits_module: Optional[str] = None,
                 logit_activation: Literal['softmax', 'sigmoid'] = 'softmax',
                 tau: float = 1.0,
                 cls_norm: str = 'backbone.ln1',
                 resize_mode: str = 'bilinear') -> None:
        super().__init__()
        if isinstance(teacher_channels, int):
            teacher_channels = [teacher_channels]
        teacher_channels = list(teacher_channels)
        if not teacher_channels or any(not isinstance(c, int) or c < 1
                                       for c in teacher_channels):
            raise ValueError('teacher_channels should be positive ints, one '
                             f'per teacher layer, but got {teacher_channels}')
        if teacher_layers is not None and \
                len(teacher_layers) != len(teacher_channels):
            raise ValueError(
                f'teacher_layers {list(teacher_layers)} and teacher_channels '
                f'{teacher_channels} should have one entry per layer')
        for name, value, choices in (
            ('transfer', transfer, _TRANSFERS),
            ('logit_activation', logit_activation, _ACTIVATIONS),
        ):
            if value not in choices:
                raise ValueError(f'{name} should be one of {choices}, but got '
                                 f'{value!r}')
        if predict_from is not None:
            raise ValueError(
                'predict_from chooses what the deployed student predicts '
                'with, so it is a field of the student: set deploy_tafa=True'
                " here and student=dict(model=dict(type='mmkd.ProCKDStudent',"
                f' ..., predict_from={predict_from!r}))')
        if transfer != 'feat_mse' and logits_module is None:
            raise ValueError(
                f"transfer={transfer!r} compares the head's class logits: set"
                " logits_module to the student's logits layer (e.g. "
                "'decode_head.conv_seg', 'bbox_head.retina_cls')")
        if not teacher_path_task_loss and transfer != 'feat_mse':
            raise ValueError(
                'teacher_path_task_loss=False with a logit transfer leaves '
                'nothing to train the prototypes, PLM and TAFA (the teacher '
                "path's logits are the transfer's fixed target). Keep it "
                "True or use transfer='feat_mse'")
        if tau <= 0:
            raise ValueError(f'tau should be positive, but got {tau}')
        self.teacher_layers = None if teacher_layers is None else list(
            teacher_layers)
        self.student_level = student_level
        self.gamma = gamma
        self.transfer = transfer
        self.teacher_path_task_loss = teacher_path_task_loss
        self.teacher_path_weight = teacher_path_weight
        self.deploy_tafa = deploy_tafa
        self.logits_module = logits_module
        self.logit_activation = logit_activation
        self.tau = tau
        self.cls_norm = cls_norm
        self.resize_mode = resize_mode
        self.student_channels = student_channels
        self.teacher_channels = teacher_channels
        self.num_prototypes = num_prototypes
        self.plm = PrototypeLearning(
            sum(teacher_channels), student_channels, num_prototypes)
        if not deploy_tafa:
            self.tafa = TaskAdaptiveAugment(student_channels, num_prototypes,
                                            proto_init)

    # --- the student -------------------------------------------------
    def bind_student(self, student: nn.Module) -> None:
        """Keep a plain (unregistered) reference to the student whose head
        the teacher path runs, and hook its logits module."""
        wrapped = isinstance(student, ProCKDStudent)
        if wrapped != self.deploy_tafa:
            raise ValueError(
                'ProCKDLoss deploy_tafa=True needs the student wrapped as '
                "student=dict(model=dict(type='mmkd.ProCKDStudent', "
                'model=<student model>, site=..., channels=...))' if self.
                deploy_tafa else
                'the student is a mmkd.ProCKDStudent (TAFA deployed): set '
                'deploy_tafa=True in ProCKDLoss')
        model = student.model if wrapped else student
        if wrapped and (student.tafa.dim, student.tafa.num_prototypes) != (
                self.student_channels, self.num_prototypes):
            raise ValueError(
                f'ProCKDStudent has channels={student.tafa.dim} and '
                f'num_prototypes={student.tafa.num_prototypes}, ProCKDLoss '
                f'{self.student_channels} and {self.num_prototypes}; make '
                f'them equal')
        if wrapped and student.level != self.student_level:
            raise ValueError(
                f'ProCKDStudent augments level {student.level}, ProCKDLoss '
                f'distils student_level={self.student_level}; make them '
                f'equal')
        if hasattr(model, 'decode_head'):
            task = 'seg'
        elif hasattr(model, 'extract_feat') and any(
                hasattr(model, h) for h in ('bbox_head', 'rpn_head')):
            task = 'det'
        elif hasattr(model, 'head') and hasattr(model, 'backbone'):
            task = 'cls'
            model.get_submodule(self.cls_norm)  # fails now if wrong
        else:
            raise TypeError(
                'ProCKDLoss runs the student head of an MMDetection detector,'
                ' an MMSegmentation segmentor or an MMPretrain classifier, '
                f'but got a {type(model).__name__}')
        names = dict(model.named_modules())
        if self.logits_module is not None and \
                self.logits_module not in names:
            from mmkd.distillers.taps import closest_names
            close = closest_names(self.logits_module, list(names))
            raise KeyError(f'ProCKDLoss logits_module {self.logits_module!r}'
                           f' is not a student module; closest: {close}')
        # __dict__, not setattr: the student must not become a sub-module
        # of the loss (state dict, optimizer and export stay unchanged).
        self.__dict__['_student'] = model
        self.__dict__['_wrapper'] = student if wrapped else None
        self.__dict__['_task'] = task
        self.__dict__['_recorder'] = None if self.logits_module is None \
            else _LogitRecorder(model, self.logits_module)

    @property
    def augment_module(self) -> TaskAdaptiveAugment:
        """TAFA and the prototype bank (here, or in the deployed student)."""
        if self.deploy_tafa:
            return self._bound()[1].tafa
        return self.tafa

    def _bound(self):
        if '_student' not in self.__dict__:
            raise RuntimeError(
                'ProCKDLoss runs the student head, so it needs the student: '
                'use it inside mmkd.Distiller (which calls bind_student), or '
                'call loss.bind_student(student) first')
        return self.__dict__['_student'], self.__dict__['_wrapper']

    # --- records -----------------------------------------------------
    def _site(self, record):
        if isinstance(record, torch.Tensor):
            return record
        if not 0 <= self.student_level < len(record):
            raise ValueError(f'student_level={self.student_level} but the '
                             f'student record has {len(record)} entries')
        return record[self.student_level]

    def _teacher_tokens(self, teacher, grid) -> torch.Tensor:
        layers = [teacher] if isinstance(teacher,
                                         torch.Tensor) else list(teacher)
        if self.teacher_layers is not None:
            layers = [layers[i] for i in self.teacher_layers]
        widths = [t.shape[1] if t.dim() == 4 else t.shape[-1] for t in layers]
        if widths != self.teacher_channels:
            raise ValueError(
                f'ProCKDLoss: teacher layers have channels {widths}, but '
                f'teacher_channels={self.teacher_channels}; set '
                f'teacher_channels (and teacher_layers) to match')
        layers = [t.detach().float() for t in layers]
        if grid is None:  # classification: tokens (B, N, C) of one length
            if len({t.shape[1] for t in layers}) != 1 or \
                    any(t.dim() != 3 for t in layers):
                raise ValueError('classification teacher layers should be '
                                 'tokens (B, N, C) of one length (ViT '
                                 "out_type='raw'), but got "
                                 f'{[tuple(t.shape) for t in layers]}')
            return torch.cat(layers, -1)
        maps = [
            t if tuple(t.shape[-2:]) == tuple(grid) else F.interpolate(
                t, size=tuple(grid), mode=self.resize_mode) for t in layers
        ]
        return maps_to_tokens(torch.cat(maps, 1))

    @torch.no_grad()
    def assignments(self, student, teacher) -> torch.Tensor:
        """PLM's soft assignments of the teacher tokens to the K
        prototypes, for inspection and pictures.

        Args:
            student, teacher: As for :meth:`forward`.

        Returns:
            Tensor: (B, K, H, W) on the student level's grid (dense), or
            (B, K, N) (classification tokens); float32, summing to 1 over K.
        """
        site = self._site(student)
        dense = site.dim() == 4
        tokens = self._teacher_tokens(teacher,
                                      site.shape[-2:] if dense else None)
        _, assign = self.plm(tokens, self.augment_module.prototypes)
        return assign.reshape(*assign.shape[:2], *site.shape[-2:]) \
            if dense else assign

    # --- the teacher path through the student's head ------------------
    def _run_head(self, record, augmented, data_samples) -> Dict:
        model, _ = self._bound()
        if self._task == 'cls':
            norm = model.get_submodule(self.cls_norm)
            return model.head.loss((norm(augmented[:, 0]), ), data_samples)
        levels = [t.detach() for t in record]
        levels[self.student_level] = augmented
        if self._task == 'seg':
            return model.decode_head.loss(levels, data_samples,
                                          model.train_cfg)
        # Detection: the detector's own loss (one- or two-stage) on the
        # substituted levels, with its feature extractor bypassed.
        model.extract_feat = lambda _: tuple(levels)
        try:
            return model.loss(None, data_samples)
        finally:
            del model.extract_feat

    def _logits(self, plain_calls: int) -> List[torch.Tensor]:
        calls = self._recorder.calls
        if len(calls) != 2 * plain_calls or plain_calls == 0:
            raise RuntimeError(
                f'ProCKDLoss: logits_module {self.logits_module!r} ran '
                f'{plain_calls} times in the student step and '
                f'{len(calls) - plain_calls} on the teacher path; it should '
                f'run once per forward (or once per level)')
        index = self.student_level if plain_calls > 1 else 0
        if index >= plain_calls:
            raise RuntimeError(
                f'ProCKDLoss: logits_module ran {plain_calls} times, fewer '
                f'than student_level={self.student_level} + 1')
        return [calls[index], calls[plain_calls + index]]

    def forward(self, student, teacher, data_samples=None) -> dict:
        """
        Args:
            student: The student's token site record (tensor or tuple).
            teacher: The teacher's layers (tuple of maps or tokens).
            data_samples (list): The batch's data samples (task labels).

        Returns:
            dict[str, Tensor]: ``loss_aug*`` (the head's losses on the
            teacher path, times ``teacher_path_weight``), ``loss_transfer``
            (times ``gamma``), float32; ``assign_peak`` (statistic: mean
            largest assignment of a token).
        """
        self._bound()
        site = self._site(student)
        dense = site.dim() == 4
        if self._task == 'cls' and dense:
            raise ValueError('classification needs the student tokens '
                             '(B, N, D); tap the last transformer layer')
        width = site.shape[1] if dense else site.shape[-1]
        if width != self.student_channels:
            raise ValueError(f'ProCKDLoss: the student site has {width} '
                             f'channels, student_channels='
                             f'{self.student_channels}')
        tafa = self.augment_module
        tokens = self._teacher_tokens(teacher,
                                      site.shape[-2:] if dense else None)
        z, assign = self.plm(tokens, tafa.prototypes)
        augmented, _ = tafa(z)
        if dense:
            augmented = tokens_to_maps(augmented, site.shape[-2:])
        # Every trainable part in the graph, whatever the switches (DDP).
        out = dict(loss_transfer=sum(p.sum() for p in self.parameters()) * 0.)
        plain_calls = len(self._recorder.calls) if self._recorder else 0
        if self.teacher_path_task_loss or self.transfer != 'feat_mse':
            head = self._run_head(student, augmented, data_samples)
            for key, value in head.items():
                if 'loss' not in key:  # accuracies: not terms
                    continue
                if isinstance(value, (list, tuple)):
                    value = sum(value)
                out['loss_aug' + key[4:]] = (
                    self.teacher_path_weight * value.float()
                    if self.teacher_path_task_loss else value.float() * 0.)
        if self.transfer == 'feat_mse':
            with torch.autocast(device_type=site.device.type, enabled=False):
                mse = F.mse_loss(tafa.augment(site).float(), augmented.float())
        else:
            plain, aug = self._logits(plain_calls)
            mse = logit_transfer(plain, aug, self.transfer,
                                 self.logit_activation, self.tau)
        if self._recorder:
            self._recorder.calls.clear()
        out['loss_transfer'] = out['loss_transfer'] + self.gamma * mse
        out['assign_peak'] = assign.detach().amax(1).mean()
        return out
