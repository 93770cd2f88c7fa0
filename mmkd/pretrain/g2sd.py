"""G2SD generic distillation as an MMPretrain self-supervised algorithm."""
import inspect
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmpretrain.models import BaseSelfSupervisor

from mmkd.distillers.taps import Tap
from mmkd.distillers.teacher import HidesTeachers, Teacher, build_teachers
from mmkd.registry import MODELS

__all__ = ['G2SD']


@MODELS.register_module()
class G2SD(HidesTeachers, BaseSelfSupervisor):
    """Generic-to-specific distillation, generic stage (Huang et al., CVPR
    2023, arXiv 2302.14771; official ``G2SD/engine_distill.py``).

    One step: one noise ``rand(B, L)`` masks the image identically for the
    teacher and the student (mask ratio from the backbones, 0.75); the
    frozen MAE teacher runs its encoder on the visible patches and its
    decoder up to block ``target_layer``, whose hidden states
    (B, 1 + L, D_t) are the target; the student MAE's light decoder and
    projection predict them (:class:`~mmkd.pretrain.G2SDFeatDecoder`); the
    loss is :class:`~mmkd.losses.G2SDFeatLoss` (LayerNorm target,
    Smooth-L1, beta 2).

    The teacher is hidden and frozen as the Distiller's is
    (:class:`~mmkd.distillers.teacher.Teacher`): outside ``state_dict``, the
    optimizer and DDP, in ``eval()``, under ``no_grad``, and stopped after
    the tapped decoder block (the blocks after it never run). The checkpoint
    holds the student only (``backbone.``, ``neck.``); the specific stage
    reads ``backbone.``.

    Args:
        backbone (dict): Student :class:`~mmkd.pretrain.G2SDViT`.
        neck (dict): Student :class:`~mmkd.pretrain.G2SDFeatDecoder`.
        teacher (dict): ``model`` (a :class:`~mmkd.pretrain.G2SDMAETeacher`)
            or ``config``, ``checkpoint`` (with the MAE decoder), ``strict``
            and ``precision``, as the Distiller's ``teacher``.
        target_layer (int): The teacher decoder block whose output is the
            target, 1-based (official ``--layer_index``). Defaults to 4.
        loss (dict, optional): Defaults to ``dict(type='mmkd.G2SDFeatLoss')``.
        load_teacher_checkpoint (bool): Defaults to True.
        data_preprocessor (dict, optional): Defaults to MMPretrain's
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 teacher: dict,
                 target_layer: int = 4,
                 loss: Optional[dict] = None,
                 load_teacher_checkpoint: bool = True,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.criterion = MODELS.build(loss or dict(type='mmkd.G2SDFeatLoss'))
        #: name -> Teacher; a plain dict, so the teacher stays hidden.
        self.teachers: Dict[str,
                            Teacher] = build_teachers(teacher, None, self,
                                                      load_teacher_checkpoint,
                                                      'G2SD')
        decoder = getattr(self.teacher, 'neck', None)
        blocks = getattr(decoder, 'decoder_blocks', None)
        takes_noise = 'noise' in inspect.signature(
            self.teacher.forward).parameters
        if blocks is None or not takes_noise:
            raise TypeError(
                'the G2SD teacher should take the mask noise in its forward '
                "and have a MAE decoder at 'neck.decoder_blocks' "
                "(type='mmkd.G2SDMAETeacher'), but got "
                f'{type(self.teacher).__name__}')
        if not 1 <= target_layer <= len(blocks):
            raise ValueError(f'target_layer should be in 1..{len(blocks)} '
                             f'(teacher decoder blocks), but got '
                             f'{target_layer}')
        self.target_layer = target_layer
        self.target_tap = Tap(
            f'neck.decoder_blocks.{target_layer - 1}', model='teacher')
        self.teachers['teacher'].tap([self.target_tap], stop_early=True)
        student_patches = self.backbone.num_patches
        teacher_patches = self.teacher.backbone.num_patches
        if student_patches != teacher_patches:
            raise ValueError(
                f'teacher and student must cut the image into the same '
                f'patches to share a mask, but the teacher has '
                f'{teacher_patches} and the student {student_patches}')

    @property
    def teacher(self) -> nn.Module:
        """The frozen teacher model."""
        return self.__dict__['teachers']['teacher'].model

    def extract_feat(self, inputs: torch.Tensor):
        """The student encoder on whole images (no mask)."""
        return self.backbone(inputs, mask=None)

    def loss(self, inputs: torch.Tensor, data_samples: List,
             **kwargs) -> Dict[str, torch.Tensor]:
        """``{'loss_gd': ...}`` for a batch of images (B, 3, H, W)."""
        noise = torch.rand(
            inputs.shape[0], self.backbone.num_patches, device=inputs.device)
        target, pred, mask = self.targets_and_predictions(
            inputs, data_samples, noise)
        return dict(loss_gd=self.criterion(pred, target, mask))

    def targets_and_predictions(self, inputs: torch.Tensor, data_samples: List,
                                noise: torch.Tensor):
        """For one mask noise (B, L): the teacher decoder's hidden states at
        ``target_layer`` and the student's prediction of them, (B, 1 + L,
        D_t) each, and the mask (B, L), 1 for masked patches."""
        records = self.teachers['teacher'].records(
            inputs, data_samples, noise=noise)
        latent, mask, ids_restore = self.backbone(inputs, noise=noise)
        return records[self.target_tap], self.neck(latent, ids_restore), mask
