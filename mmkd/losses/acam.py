"""ACAM-KD: adaptive and cooperative attention masking (Lan & Tian, ICCV 2025,
arXiv 2503.06307). No official code exists; the ancestor is MasKD
(Huang et al., ICLR 2023, ``github.com/hunto/MasKD``).

Per distilled map (an FPN level, or segmentation logits), with ``F_T``
(B, C, H, W) from the frozen teacher and ``F_S`` (B, C_s, H, W):

* ``f_align``: a 1x1 conv C_s -> C on the student (``align='conv'``; the
  paper and mmkd's detection configs), or none (``align='identity'``, equal
  channels: MasKD compares segmentation logits directly);
* STCA-FF: single-head cross-attention, query ``W_q F_T`` (C_q = C // 2),
  key ``W_k F_S`` and value ``W_v F_S`` (C), ``F_fused = softmax(Q K^T /
  sqrt(C_q)) V``, through :func:`mmkd.ops.cross_attention` (SDPA, the N x N
  matrix is never stored); ``F_fused`` only generates the masks;
* ASCM: channel masks ``M^c = sigmoid(m_c * GAP(F_fused))`` (B, M, C) and
  spatial masks ``M^s = sigmoid(m_s @ F_fused)`` (B, M, HW);
* losses, with ``d2 = (F_T - f_align(F_S))**2``::

      L^c = mean_{b,m} sum_k M^c_bmk^2 sum_p d2_bkp / (HW sum_k M^c_bmk + eps)
      L^s = mean_{b,m} sum_p M^s_bmp^2 sum_k d2_bkp / (C  sum_p M^s_bmp + eps)
      L_div = Dice(M^s) + Dice(M^c)

  ``loss_distill = alpha * sum_levels (L^c + L^s)`` and
  ``loss_div = div_weight * sum_levels L_div``.

Every part (align, W_q, W_k, W_v, m_c, m_s; :mod:`mmkd.losses.acam_units`)
trains with the student. By default the masks are constants inside
``L^c, L^s`` and the fusion sees a detached student (MasKD's practice,
chosen by measurement); the paper's "cooperative" reading, everything on
the same total loss, is ``detach_masks_in_loss=False,
detach_student_in_fusion=False``, under which the masks collapse. The
differences, mask products, sums and Dice run in fp32 under AMP; the
attention runs in the autocast dtype. Readings where the paper is silent
are documented in ``docs/methods/acam_kd.md`` with their source (paper /
MasKD / proposed).
"""
from typing import Dict, List, Literal, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmkd.ops import attention_memory_bytes, cross_attention, sdpa_backend
from mmkd.registry import MODELS
from .acam_units import (_DICE_FORMS, _MASK_NORMS, ACAMLevel, DiceForm,
                         acam_masked_losses, mask_dice)

__all__ = ['acam_masked_losses', 'mask_dice', 'ACAMLevel', 'ACAMKDLoss']

_DICE_ON = ('both', 'spatial')
_ALIGNS = ('conv', 'identity')
_STATS = ('mean', 'min', 'max')
_LOG_PAIRS = 2**20  # query-key pairs from which a level's size is logged


@MODELS.register_module()
class ACAMKDLoss(nn.Module):
    """ACAM-KD loss with its trainable attention and mask units.

    Tap ``neck`` for detection (the record is the tuple of FPN levels: one
    set of units per level, losses summed) or ``decode_head.conv_seg`` for
    segmentation (logits; ``num_masks`` = number of classes). The units
    must exist when the model is built (the optimizer needs them), so the
    channels and the number of maps are arguments.

    Args:
        student_channels (int | Sequence[int]): C_s, one value for all maps
            or one per map of the record.
        teacher_channels (int | Sequence[int]): C, likewise.
        num_levels (int): Maps in the record: 1 for a tensor, the number of
            FPN outputs for ``neck`` (5 for RetinaNet). Defaults to 1.
        num_masks (int): M, masks of each kind: 6 for detection, the number
            of classes for segmentation. Defaults to 6.
        query_channels (int, optional): C_q; None gives ``C // 2`` (floor:
            9 for 19 classes). Defaults to None.
        alpha (float): Weight of ``L^c + L^s``. Defaults to 1.0.
        div_weight (float): lambda, weight of the Dice term. Defaults to 1.0.
        levels (Sequence[int], optional): Record indices to distil (A1);
            None distils all. Defaults to None.
        share_modules (bool): One set of units for every level (A1; needs
            equal channels). Defaults to False.
        use_sdpa (bool): Exact attention through SDPA; False materialises
            the N x N matrix (A2). Defaults to True.
        kv_pool_stride (int): Average-pool keys/values by this stride (A2;
            an approximation not in the paper, 1 = off). Defaults to 1.
        attention_budget_gib (float): Largest estimated extra memory of one
            level's attention per image (forward + backward). A call above
            it fails before the attention allocates, naming the switches.
            Defaults to 4.0.
        per_channel_units (bool): ``m_c`` in R^{M x C} instead of the
            paper's R^{M x 1} (A3). Defaults to False.
        dice_form (str): ``'pairwise_mean'`` (MasKD) or ``'literal'`` (the
            printed formula, reaching M - 1) (A4). Defaults to
            'pairwise_mean'.
        dice_on (str): ``'both'`` (spatial + channel masks) or ``'spatial'``
            (A5). Defaults to 'both'.
        detach_student_in_fusion (bool): Stop the gradient from the masks
            into the student through K/V (A6; MasKD's practice, not in the
            paper). Defaults to True.
        detach_masks_in_loss (bool): Masks as constants inside ``L^c, L^s``
            (A7; units then train through the Dice term only; MasKD's
            practice, not in the paper). With both False, as the paper
            reads, the masks minimise their own weighted error and collapse
            to 0 within a few hundred iterations (measured on CamVid and
            BCCD, docs/methods/acam_kd.md). Defaults to True.
        mask_norm (str): ``'sum'`` (paper) or ``'sum_sq'`` (A7).
            Defaults to 'sum'.
        init_std (float): Std of the normal init of ``m_c``, ``m_s`` (A10).
            Defaults to 0.01.
        align (str): ``'conv'``: a trainable 1x1 conv maps the student to
            the teacher's channels before the masked difference (the paper,
            after MasKD's detection code); ``'identity'``: the student's map
            is compared as it is (MasKD's segmentation loss on logits),
            which needs equal channels. Defaults to 'conv'.
        eps (float): Added to the loss denominators of
            ``mask_norm='sum'`` (see :func:`acam_masked_losses`).
            Defaults to 1e-6.

    Example:
        >>> import torch
        >>> loss = ACAMKDLoss(8, 16, num_masks=3)
        >>> s, t = torch.randn(2, 8, 5, 6), torch.randn(2, 16, 5, 6)
        >>> out = loss(s, t)
        >>> sorted(k for k in out if k.startswith('loss'))
        ['loss_distill', 'loss_div']
        >>> out['l0_mask_s_mean'].shape
        torch.Size([])
    """

    #: Outputs that are logged, never summed (filled per instance).
    statistics: Tuple[str, ...] = ()
    #: Student and teacher may differ in channels (align does it).
    requires_equal_shapes = False
    #: The argument weighting each output (named in health warnings).
    weight_args = dict(loss_distill='alpha', loss_div='div_weight')

    def __init__(self,
                 student_channels: Union[int, Sequence[int]],
                 teacher_channels: Union[int, Sequence[int]],
                 num_levels: int = 1,
                 num_masks: int = 6,
                 query_channels: Optional[int] = None,
                 alpha: float = 1.0,
                 div_weight: float = 1.0,
                 levels: Optional[Sequence[int]] = None,
                 share_modules: bool = False,
                 use_sdpa: bool = True,
                 kv_pool_stride: int = 1,
                 attention_budget_gib: float = 4.0,
                 per_channel_units: bool = False,
                 dice_form: DiceForm = 'pairwise_mean',
                 dice_on: Literal['both', 'spatial'] = 'both',
                 detach_student_in_fusion: bool = True,
                 detach_masks_in_loss: bool = True,
                 mask_norm: Literal['sum', 'sum_sq'] = 'sum',
                 init_std: float = 0.01,
                 align: Literal['conv', 'identity'] = 'conv',
                 eps: float = 1e-6) -> None:
        super().__init__()
        if not isinstance(num_levels, int) or num_levels < 1:
            raise ValueError(
                f'num_levels should be a positive int, but got {num_levels!r}')
        levels = list(range(num_levels)) if levels is None else list(levels)
        if not levels or len(set(levels)) != len(levels) or any(
                not 0 <= i < num_levels for i in levels):
            raise ValueError(f'levels should be distinct indices in [0, '
                             f'{num_levels}), but got {levels}')
        c_s = self._per_level(student_channels, num_levels, 'student')
        c_t = self._per_level(teacher_channels, num_levels, 'teacher')
        for name, value, choices in (('dice_form', dice_form, _DICE_FORMS),
                                     ('dice_on', dice_on, _DICE_ON),
                                     ('mask_norm', mask_norm,
                                      _MASK_NORMS), ('align', align, _ALIGNS)):
            if value not in choices:
                raise ValueError(f'{name} should be one of {choices}, but got '
                                 f'{value!r}')
        if not isinstance(num_masks, int) or num_masks < 1:
            raise ValueError(
                f'num_masks should be a positive int, but got {num_masks!r}')
        if not isinstance(kv_pool_stride, int) or kv_pool_stride < 1:
            raise ValueError('kv_pool_stride should be an int >= 1 (1 = '
                             f'off), but got {kv_pool_stride!r}')
        if attention_budget_gib <= 0:
            raise ValueError('attention_budget_gib should be positive, but '
                             f'got {attention_budget_gib}')
        if init_std < 0:
            raise ValueError(f'init_std should be >= 0, but got {init_std}')
        unequal = [(i, c_s[i], c_t[i]) for i in levels if c_s[i] != c_t[i]]
        if align == 'identity' and unequal:
            raise ValueError(
                "align='identity' compares the student's map with the "
                'teacher\'s as they are, so it needs equal channels, but '
                'level(s) ' + ', '.join(f'{i} (student {s}, teacher {t})'
                                        for i, s, t in unequal) +
                " differ: use align='conv' (a 1x1 conv to the teacher's "
                'channels)')
        if share_modules and len({(c_s[i], c_t[i]) for i in levels}) > 1:
            raise ValueError(
                'share_modules=True needs the same channels on every '
                f'distilled level, but got student {[c_s[i] for i in levels]}'
                f' and teacher {[c_t[i] for i in levels]}')
        self.num_levels = num_levels
        self.levels = levels
        self.share_modules = share_modules
        self.alpha = alpha
        self.div_weight = div_weight
        self.use_sdpa = use_sdpa
        self.kv_pool_stride = kv_pool_stride
        self.attention_budget_gib = attention_budget_gib
        self.dice_form = dice_form
        self.dice_on = dice_on
        self.detach_student_in_fusion = detach_student_in_fusion
        self.detach_masks_in_loss = detach_masks_in_loss
        self.mask_norm = mask_norm
        self.align = align
        self.eps = eps

        def unit(i):
            c_q = query_channels or max(1, c_t[i] // 2)
            return ACAMLevel(c_s[i], c_t[i], c_q, num_masks, per_channel_units,
                             init_std, align)

        self.units = nn.ModuleList(
            [unit(levels[0])] if share_modules else [unit(i) for i in levels])
        self.statistics = tuple(f'l{i}_mask_{kind}_{stat}' for i in levels
                                for kind in 'cs' for stat in _STATS)
        self._largest = {}  # level -> largest N * L logged so far

    @staticmethod
    def _per_level(channels, num_levels: int, side: str) -> List[int]:
        if isinstance(channels, int):
            return [channels] * num_levels
        channels = list(channels)
        if len(channels) != num_levels or not all(
                isinstance(c, int) and c > 0 for c in channels):
            raise ValueError(
                f'{side}_channels should be an int or {num_levels} positive '
                f'ints (one per map of the record), but got {channels}')
        return channels

    def _maps(self, record, side: str) -> List[torch.Tensor]:
        maps = [record] if isinstance(record, torch.Tensor) else list(record)
        if len(maps) != self.num_levels or not all(
                isinstance(m, torch.Tensor) and m.dim() == 4 for m in maps):
            got = (
                tuple(record.shape) if isinstance(record, torch.Tensor) else
                f'{type(record).__name__} of {len(maps)}')
            raise ValueError(
                f'ACAMKDLoss expects a {side} record of {self.num_levels} '
                f'(B, C, H, W) maps (num_levels={self.num_levels}), but got '
                f'{got}. For detection tap the neck and set num_levels to '
                f'its number of outputs')
        return maps

    def _check_budget(self, level: int, q, k, v, scale: float) -> str:
        """Refuse an attention call whose estimated memory exceeds the
        budget, before it allocates; log each level's largest size."""
        n, length = q.shape[1], k.shape[1]
        if self.use_sdpa:
            path = sdpa_backend(q[:1, :1], k[:1, :1], v[:1, :1], scale)
            width = max(q.shape[-1], v.shape[-1])
        else:
            path, width = 'naive', q.shape[-1]
        quadratic = path in ('naive', 'math')
        need = attention_memory_bytes(n, length, width, v.shape[-1],
                                      q.element_size(), quadratic)
        gib = need / 2**30
        if gib > self.attention_budget_gib:
            raise RuntimeError(
                f'ACAMKDLoss level {level}: attention over {n} queries x '
                f'{length} keys on the {path!r} path needs about {gib:.1f} '
                f'GiB per image (forward + backward), over '
                f'attention_budget_gib={self.attention_budget_gib}. ' +
                ('Set use_sdpa=True (exact, memory linear in N). '
                 if not self.use_sdpa else
                 f'SDPA chose its {path!r} kernel for dtype {q.dtype} on '
                 f'{q.device.type}, which builds the N x N matrix; run '
                 f'under AMP (fp16/bf16) so a fused kernel applies. ') +
                'Or set kv_pool_stride=2 (keys/values average-pooled, cost '
                '/4; an approximation not in the paper), leave the level '
                'out with levels=[...], or raise attention_budget_gib')
        # Log each level's new largest size, once it is worth a line.
        if n * length > max(self._largest.get(level, 0), _LOG_PAIRS - 1):
            self._largest[level] = n * length
            gflop = 2 * n * length * (q.shape[-1] + v.shape[-1]) / 1e9
            print_log(
                f'ACAMKDLoss level {level}: {n} queries x {length} keys, '
                f'path {path!r}, {q.dtype}, ~{gflop:.1f} GFLOP forward and '
                f'~{gib * 1024:.0f} MiB (estimate) per image',
                logger='current')
        return path

    def _masks(self, unit: ACAMLevel, level: int, student: torch.Tensor,
               teacher: torch.Tensor):
        """STCA-FF then ASCM: fp32 masks (B, M, C) and (B, M, N)."""
        q, k, v = unit.project(teacher, student, self.kv_pool_stride)
        scale = unit.query_channels**-0.5
        self._check_budget(level, q, k, v, scale)
        fused = cross_attention(q, k, v, scale, self.use_sdpa)  # B, N, C
        with torch.autocast(device_type=student.device.type, enabled=False):
            return unit.masks(fused.float().transpose(1, 2))

    @torch.no_grad()
    def masks(self, student,
              teacher) -> Dict[int, Tuple[torch.Tensor, torch.Tensor]]:
        """The masks the loss would use, for inspection and pictures.

        Args:
            student, teacher: As for :meth:`forward`.

        Returns:
            dict[int, tuple[Tensor, Tensor]]: record index -> channel masks
            (B, M, C) and spatial masks (B, M, H, W), fp32.
        """
        s_maps = self._maps(student, 'student')
        t_maps = self._maps(teacher, 'teacher')
        out = {}
        for j, level in enumerate(self.levels):
            unit = self.units[0 if self.share_modules else j]
            t = t_maps[level]
            mask_c, mask_s = self._masks(unit, level, s_maps[level], t)
            out[level] = (mask_c,
                          mask_s.reshape(*mask_s.shape[:2], *t.shape[-2:]))
        return out

    def _level(self, unit: ACAMLevel, level: int, student: torch.Tensor,
               teacher: torch.Tensor):
        teacher = teacher.detach()
        if student.shape[0] != teacher.shape[0] or \
                student.shape[2:] != teacher.shape[2:]:
            raise ValueError(
                f'ACAMKDLoss level {level}: student {tuple(student.shape)} '
                f'and teacher {tuple(teacher.shape)} should share batch and '
                f'spatial size')
        if (student.shape[1], teacher.shape[1]) != (unit.student_channels,
                                                    unit.teacher_channels):
            raise ValueError(
                f'ACAMKDLoss level {level}: built for student/teacher '
                f'channels {unit.student_channels}/{unit.teacher_channels}, '
                f'but got {student.shape[1]}/{teacher.shape[1]}; set '
                f'student_channels and teacher_channels')
        aligned = unit.align(student)
        fusion_in = student.detach() if self.detach_student_in_fusion \
            else student
        mask_c, mask_s = self._masks(unit, level, fusion_in, teacher)
        with torch.autocast(device_type=student.device.type, enabled=False):
            weights = (mask_c.detach(), mask_s.detach()) \
                if self.detach_masks_in_loss else (mask_c, mask_s)
            loss_c, loss_s = acam_masked_losses(teacher.float(),
                                                aligned.float(), *weights,
                                                self.mask_norm, self.eps)
            div = mask_dice(mask_s, self.dice_form)
            if self.dice_on == 'both':
                div = div + mask_dice(mask_c, self.dice_form)
        return loss_c + loss_s, div, mask_c.detach(), mask_s.detach()

    def forward(self, student, teacher) -> dict:
        """Losses summed over the distilled levels, plus mask statistics.

        Args:
            student (Tensor | Sequence[Tensor]): Student map(s), (B, C_s,
                H, W) each.
            teacher (Tensor | Sequence[Tensor]): Teacher map(s), (B, C, H, W)
                each; detached here.

        Returns:
            dict[str, Tensor]: ``loss_distill`` (alpha * sum (L^c + L^s)),
            ``loss_div`` (div_weight * sum L_div), fp32 scalars, and per
            level ``l{i}_mask_{c,s}_{mean,min,max}`` (statistics).
        """
        s_maps = self._maps(student, 'student')
        t_maps = self._maps(teacher, 'teacher')
        # A zero-weighted path through every unit keeps all of them in the
        # graph whatever the switches (DDP without find_unused_parameters).
        zero = sum(p.sum() for p in self.parameters()) * 0.
        distill, div, stats = zero, zero, {}
        for j, level in enumerate(self.levels):
            unit = self.units[0 if self.share_modules else j]
            if t_maps[level].shape[0] == 0:  # an empty batch: nothing to do
                for key in (f'l{level}_mask_{kind}_{stat}' for kind in 'cs'
                            for stat in _STATS):
                    stats[key] = zero.detach()
                continue
            pair, dice, mask_c, mask_s = self._level(unit, level,
                                                     s_maps[level],
                                                     t_maps[level])
            distill = distill + pair
            div = div + dice
            for kind, mask in (('c', mask_c), ('s', mask_s)):
                stats[f'l{level}_mask_{kind}_mean'] = mask.mean()
                stats[f'l{level}_mask_{kind}_min'] = mask.min()
                stats[f'l{level}_mask_{kind}_max'] = mask.max()
        return dict(
            loss_distill=self.alpha * distill,
            loss_div=self.div_weight * div,
            **stats)
