"""The two trainable modules of ProC-KD (Li et al., arXiv 2212.13180), as
the official MindSpore code builds them (``models.py``: ``vlad3``, ``aug3``;
reconstructed in the spec ``prockd.md`` §2), and the student wrapper that
keeps them at inference (``deploy_tafa=True``).

* :class:`PrototypeLearning` (PLM): teacher tokens of several layers ->
  ``X = ReLU(W [T1; T2; T3])``, ``X^ = X / |X|``, soft assignment
  ``a = softmax_k(W_a X^ + b)``, NetVLAD residuals ``V = A X^ - (A 1) C``
  (:func:`mmkd.ops.vlad_residuals`), global descriptor
  ``g = W_g l2(vec(l2_D(V)))`` and fusion ``Z = MLP([X; g])``.
* :class:`TaskAdaptiveAugment` (TAFA): holds the prototype bank ``C``;
  ``E = W_e Y``, ``P = W_e C``, each token attends to the K prototypes
  (:func:`mmkd.ops.prototype_attention`), ``Y' = ReLU(psi([E; U]) + Y)``.

Normalisations and softmaxes run in float32 under autocast (in float64 for
float64 inputs); the linear layers run in the autocast dtype.
"""
from typing import Literal, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmkd.ops import (at_least_fp32, maps_to_tokens, prototype_attention,
                      tokens_to_maps, vlad_residuals)
from mmkd.registry import MODELS

__all__ = ['PrototypeLearning', 'TaskAdaptiveAugment', 'ProCKDStudent']

PredictFrom = Literal['z', 'z_aug', 'mean']

ProtoInit = Literal['uniform', 'normal']


def _mlp(dim: int) -> nn.Sequential:
    """psi: 1x1 conv 2D -> D, ReLU, 1x1 conv D -> D, ReLU (as Linear)."""
    return nn.Sequential(
        nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU())


class PrototypeLearning(nn.Module):
    """PLM: prototype-guided teacher tokens ``Z`` (B, N, D).

    Args:
        in_channels (int): Width of the concatenated teacher tokens (sum of
            the tapped layers' widths).
        dim (int): D, the common width (the student level's channels).
        num_prototypes (int): K, for the assignment layer.
    """

    def __init__(self, in_channels: int, dim: int,
                 num_prototypes: int) -> None:
        super().__init__()
        self.fuse = nn.Sequential(nn.Linear(in_channels, dim), nn.ReLU())
        self.assign = nn.Linear(dim, num_prototypes)
        # W_g: K*D*D weights, the module's largest part (spec §2.1).
        self.vlad_fc = nn.Linear(num_prototypes * dim, dim)
        self.mlp = _mlp(dim)

    def forward(self, tokens: torch.Tensor,
                centers: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            tokens (Tensor): Concatenated teacher tokens, (B, N, C_in).
            centers (Tensor): The prototype bank ``C``, (K, D).

        Returns:
            tuple[Tensor, Tensor]: ``Z`` (B, N, D) and the assignments
            ``a`` (B, K, N), float32, summing to 1 over K.
        """
        x = self.fuse(tokens)
        with torch.autocast(device_type=x.device.type, enabled=False):
            dtype = at_least_fp32(x.dtype)
            xn = F.normalize(x.to(dtype), dim=-1)
            assign = torch.softmax(
                F.linear(xn, self.assign.weight.to(dtype),
                         self.assign.bias.to(dtype)), -1).transpose(1, 2)
            v = vlad_residuals(assign, xn, centers.to(dtype))
            v = F.normalize(F.normalize(v, dim=-1).flatten(1), dim=-1)
        g = self.vlad_fc(v)
        z = self.mlp(torch.cat([x, g[:, None].expand(-1, x.shape[1], -1)], -1))
        return z, assign


class TaskAdaptiveAugment(nn.Module):
    """TAFA with the prototype bank ``C`` it attends to.

    Args:
        dim (int): D.
        num_prototypes (int): K. Defaults to 72 (the code's 24 x 3).
        proto_init (str): ``'uniform'``: U[0, 1) as the code's
            ``rand(K, D)``; ``'normal'``: N(0, 1) (spec P9).
            Defaults to 'uniform'.
    """

    def __init__(self,
                 dim: int,
                 num_prototypes: int = 72,
                 proto_init: ProtoInit = 'uniform') -> None:
        super().__init__()
        if proto_init not in ('uniform', 'normal'):
            raise ValueError("proto_init should be 'uniform' or 'normal', "
                             f'but got {proto_init!r}')
        if not isinstance(num_prototypes, int) or num_prototypes < 1:
            raise ValueError('num_prototypes should be a positive int, but '
                             f'got {num_prototypes!r}')
        init = torch.rand if proto_init == 'uniform' else torch.randn
        self.prototypes = nn.Parameter(init(num_prototypes, dim))
        self.enc = nn.Linear(dim, dim)
        self.mlp = _mlp(dim)
        self.dim = dim

    @property
    def num_prototypes(self) -> int:
        return self.prototypes.shape[0]

    def forward(self,
                tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            tokens (Tensor): ``Y``, (B, N, D).

        Returns:
            tuple[Tensor, Tensor]: ``Y'`` (B, N, D), non-negative, and the
            attention weights (B, K, N), float32, summing to 1 over K.
        """
        e = self.enc(tokens)
        p = self.enc(self.prototypes)
        u, weights = prototype_attention(e, p)
        out = self.mlp(torch.cat([e, u.to(e.dtype)], -1))
        return torch.relu(out + tokens), weights

    def augment(self, feature: torch.Tensor) -> torch.Tensor:
        """TAFA on a map (B, D, H, W) or tokens (B, N, D), same layout out."""
        if feature.dim() == 4:
            out, _ = self(maps_to_tokens(feature))
            return tokens_to_maps(out, feature.shape[-2:])
        if feature.dim() == 3:
            return self(feature)[0]
        raise ValueError('TAFA takes a map (B, D, H, W) or tokens (B, N, D), '
                         f'but got {tuple(feature.shape)}')


@MODELS.register_module()
class ProCKDStudent(BaseModel):
    """A student whose token site goes through TAFA with the prototype bank
    in training and at inference: ProC-KD with ``deploy_tafa=True`` (spec
    P4; the official code tests and trains its student this way).

    The wrapped model is unchanged; a hook, present only during this
    model's own forward and loss, replaces the site's tensor ``F`` by
    ``TAFA(F)``. Export keeps ``model.*`` and ``tafa.*``, so the exported
    checkpoint and config (``tools/export_student.py --config``) run under
    MMDetection's, MMSegmentation's or MMPretrain's own tools with
    ``custom_imports=dict(imports=['mmkd'])``.

    Args:
        model (dict | nn.Module): The student model (e.g. a RetinaNet,
            an EncoderDecoder, an ImageClassifier): a model dict, or
            ``dict(config=..., model=...)`` as a Distiller's ``student``.
        site (str): Module path in ``model`` whose output (or input, with
            ``source='input'``) holds the tokens: ``'neck'`` (detection),
            ``'backbone'`` (the decode head's input in a segmentor without
            neck), ``'backbone.layers.5'`` (a 6-layer ViT).
        channels (int): D, the site's channels.
        level (int): Index in the site's tuple (an FPN level, a decode-head
            input); ignored when the site gives one tensor. Defaults to 0.
        source (str): ``'output'`` or ``'input'``. Defaults to 'output'.
        num_prototypes (int): K. Defaults to 72.
        proto_init (str): As :class:`TaskAdaptiveAugment`.
            Defaults to 'uniform'.
        predict_from (str, optional): None: TAFA in the student's own
            training loss and at inference (mmkd's reading of the deployed
            student). ``'z'``, ``'z_aug'`` or ``'mean'`` (spec P5, the
            official model's structure): the student trains on its plain
            features (``z``) while TAFA and the bank learn on the teacher
            path; at inference it predicts from ``z`` (TAFA unused),
            ``z_aug = head(TAFA(F))``, or the mean of the two outputs'
            logits at ``logits_module``. Defaults to None.
        logits_module (str, optional): The wrapped model's logits module
            (e.g. ``'decode_head.conv_seg'``); needed for ``'mean'``.
            Defaults to None.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 model,
                 site: str,
                 channels: int,
                 level: int = 0,
                 source: Literal['output', 'input'] = 'output',
                 num_prototypes: int = 72,
                 proto_init: ProtoInit = 'uniform',
                 predict_from: Optional[PredictFrom] = None,
                 logits_module: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(model, dict) and ('config' in model or 'model' in model):
            # dict(config='mmseg::...', model=overrides), as a Distiller's
            # student=, so a config can wrap a student config it inherits.
            from mmkd.distillers.builder import build_model
            model, _ = build_model(model, 'student')
        elif not isinstance(model, nn.Module):
            model = MODELS.build(model)
        super().__init__(
            data_preprocessor=model.data_preprocessor, init_cfg=init_cfg)
        self.model = model
        if source not in ('output', 'input'):
            raise ValueError("source should be 'output' or 'input', but got "
                             f'{source!r}')
        from mmkd.distillers.taps import closest_names
        names = dict(model.named_modules())
        if site not in names:
            close = closest_names(site, list(names))
            raise KeyError(f'ProCKDStudent: the model has no module {site!r};'
                           f' closest names: {close}')
        self.site, self.level, self.source = site, level, source
        if predict_from not in (None, 'z', 'z_aug', 'mean'):
            raise ValueError("predict_from should be None, 'z', 'z_aug' or "
                             f"'mean', but got {predict_from!r}")
        if predict_from == 'mean' and logits_module not in names:
            close = closest_names(str(logits_module), list(names))
            raise KeyError(
                "ProCKDStudent predict_from='mean' averages the logits of "
                f'logits_module, but the model has no module '
                f'{logits_module!r}; closest names: {close}')
        self.predict_from, self.logits_module = predict_from, logits_module
        self.tafa = TaskAdaptiveAugment(channels, num_prototypes, proto_init)

    def _replace(self, record):
        if isinstance(record, torch.Tensor):
            return self.tafa.augment(record)
        record = list(record)
        record[self.level] = self.tafa.augment(record[self.level])
        return record

    def _hooked(self):
        module = self.model.get_submodule(self.site)
        if self.source == 'output':
            return module.register_forward_hook(
                lambda m, args, out: type(out)(self._replace(out))
                if isinstance(out, (tuple, list)) else self._replace(out))

        def pre_hook(m, args):
            first = args[0]
            new = self._replace(first)
            if isinstance(first, tuple):
                new = tuple(new)
            return (new, ) + tuple(args[1:])

        return module.register_forward_pre_hook(pre_hook)

    def _through_tafa(self, run):
        handle = self._hooked()
        try:
            return run()
        finally:
            handle.remove()

    def _mean_of_paths(self, run):
        """``run`` plain, then through TAFA with the logits module's
        outputs replaced by the mean of the two paths' (call by call)."""
        module = self.model.get_submodule(self.logits_module)
        plain = []
        handle = module.register_forward_hook(
            lambda m, args, out: plain.append(out))
        try:
            run()
        finally:
            handle.remove()
        calls = iter(plain)
        handle = module.register_forward_hook(lambda m, args, out:
                                              (out + next(calls)) / 2)
        try:
            return self._through_tafa(run)
        finally:
            handle.remove()

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):

        def run():
            return self.model(inputs, data_samples, mode=mode)

        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if self.predict_from == 'z':
            return run()
        if self.predict_from == 'mean':
            return self._mean_of_paths(run)
        return self._through_tafa(run)  # None or 'z_aug'

    def loss(self, inputs, data_samples):
        if self.predict_from is not None:  # the plain path trains (z)
            return self.model.loss(inputs, data_samples)
        return self._through_tafa(
            lambda: self.model.loss(inputs, data_samples))

    def predict(self, inputs, data_samples=None):
        return self(inputs, data_samples, mode='predict')
